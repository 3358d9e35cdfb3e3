"""Make the tiny model's pretrained starting point, `curation/models/weights/mvit_tiny_synth.pt`.

Real users start MViTv2-S from Kinetics-400 weights; the CPU-sized `mvit_tiny` has none, and from random
initialisation it sits at the class prior for thousands of draws (bench/README.md, recipe.py). This script trains
it once, from random initialisation, on clean labels, on generator seeds no demo, test or benchmark uses
(PRETRAIN_SEED and up; they use 0-999), and keeps the backbone of the best epoch (the head starts new when the
weights are loaded). Two tasks:

- `--task horizon` (the packaged file today): the Nexar generator with another label rule than the demo's
  (`horizon:1`: a clip is positive when it ends within 1 s before the event, when the vehicle fills the view).
  Nearly the Nexar world's own decision: issue 41 asks for a start that is not (bench/README.md, issue 41).
- `--task motion` (the candidate honest start): the action generator's generic motion task — which way an object
  travels, up, down, toward or away (4 classes), whatever its shape and speed, on random backgrounds at a third
  of the action world's nuisance (no left and right: training's horizontal flips would swap them). Neither
  world's decision; measured in bench/README.md (issue 41), not yet good enough to ship.

Deterministic on CPU (workers=0, fixed seeds): rerun it and compare the printed sha256 with TINY_WEIGHTS_SHA256 in
curation/models/mvit.py.

    uv run python scripts/pretrain_tiny.py [--task horizon|motion] [--workdir /tmp/curate-pretrain]
        [--out curation/models/weights/mvit_tiny_synth.pt] [--epochs N]

About 9 minutes (horizon) or 10 minutes (motion) on 2 cores.
"""
from __future__ import annotations

import argparse
import io
import shutil
import time
from pathlib import Path

import torch

from curation.fsutil import atomic_write_bytes, sha256_file
from curation.ingest.clips import ClipConfig
from curation.ingest.layouts import read_nexar
from curation.ingest.layouts.folders import read_folders
from curation.ingest.pipeline import IngestOptions, ingest
from curation.frames.cache import cache_size_for
from curation.models.mvit import MODELS, TINY_WEIGHTS
from curation.synth import generate
from curation.synth_actions import generate_actions
from curation.train.config import TrainConfig
from curation.train.loop import train
from curation.workspace import Workspace

PRETRAIN_SEED = 1000
RECIPE = dict(model="mvit_tiny", weights="none", epochs=None, draws_per_epoch=1500, batch_size=8, lr=5e-4,
              warmup=0.05, balance=True, workers=0, seed=PRETRAIN_SEED)  # epochs: the task's
TASKS = {
    "horizon": {"epochs": 8, "videos": 200, "label_rule": "horizon:1",
                "what": "nexar generator, label rule horizon:1 (positive within 1 s before the event)"},
    "motion": {"epochs": 20, "videos": 720, "nuisance": 0.3,
               "what": "motion: heading of an object of any shape (up, down, toward, away), 4 classes"},
}


def make_data(task: str, work: Path, videos: int):
    """The task's videos, ingested: (workspace, table)."""
    frame_size = cache_size_for(MODELS["mvit_tiny"].input_size)
    ws = Workspace.open(work / "ws", backend="lance")
    if task == "horizon":
        generate(work / "data", n_train=videos, n_test=4, width=160, height=96, duration_s=8.0, label_noise=0.0,
                 n_duplicates=0, n_corrupt=0, seed=PRETRAIN_SEED, progress=True)
        source, rule = read_nexar(work / "data"), TASKS[task]["label_rule"]
    else:
        generate_actions(work / "data", n_train=videos, n_test=0, width=96, height=96, task="motion",
                         nuisance=TASKS[task]["nuisance"], seed=PRETRAIN_SEED, progress=True)
        source, rule = read_folders(work / "data"), "alert"
    ingest(ws, source, "pretrain", IngestOptions(clip=ClipConfig(), label_rule=rule, val_fraction=0.15,
                                                 seed=PRETRAIN_SEED, frame_size=frame_size), progress=True)
    return ws, "pretrain/clips@1"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", choices=sorted(TASKS), default="horizon")
    ap.add_argument("--workdir", default="/tmp/curate-pretrain")
    ap.add_argument("--out", default=str(TINY_WEIGHTS))
    ap.add_argument("--videos", type=int, help="videos to generate [horizon 200, motion 720]")
    ap.add_argument("--epochs", type=int, help="[horizon 8, motion 20]; fewer make a weaker start for experiments")
    args = ap.parse_args()
    task = TASKS[args.task]
    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    started = time.time()
    videos = args.videos or task["videos"]
    ws, table = make_data(args.task, work, videos)
    recipe = {**RECIPE, "epochs": args.epochs or task["epochs"]}
    run = train(ws, TrainConfig(table=table, name="pretrain", **recipe))
    record = ws.runs.record(run)
    model = torch.load(ws.runs.dir(run) / "best.pt", map_location="cpu", weights_only=False)["model"]
    backbone = {k.removeprefix("backbone."): v for k, v in model.items() if k.startswith("backbone.")}
    buf = io.BytesIO()
    what = {"label_rule": task["label_rule"]} if args.task == "horizon" else {"task": task["what"]}  # the packaged
    # file's keys, so that its sha256 is reproduced
    torch.save({"state_dict": backbone, "model": "mvit_tiny", "recipe": recipe, **what,
                "generator_seed": PRETRAIN_SEED, "videos": videos, "best": record.best}, buf)
    atomic_write_bytes(Path(args.out), buf.getvalue())
    print(f"{args.out}: {Path(args.out).stat().st_size / 1e6:.2f} MB, sha256 {sha256_file(Path(args.out))}; "
          f"best val {record.metric} {record.best_value:.4f} at epoch {record.best['epoch']}; "
          f"{(time.time() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
