"""Make the tiny model's pretrained starting point, `curation/models/weights/mvit_tiny_synth.pt`, on a task that is
neither world's evaluation decision.

Real users start MViTv2-S from Kinetics-400 weights; the CPU-sized `mvit_tiny` has none, and from random
initialisation it sits at the class prior for thousands of draws (bench/README.md, recipe.py). This script trains
it once, from random initialisation and on clean labels, on the generic motion task of the action generator
(`generate_actions(task="motion")`): which way an object travels — up, down, toward or away (4 classes) — whatever
its shape and speed, on random backgrounds (textures at a third of the action world's contrast, a little camera
pan and light; no left and right: training's horizontal flips would swap them). No action class is a plain heading and no Nexar label is one, so neither world's
decision was seen; generator seeds PRETRAIN_SEED and up, which no demo, test or benchmark uses (they use 0–999).
It keeps the backbone of the best epoch (the head starts new when the weights are loaded). Deterministic on CPU
(workers=0, fixed seeds): rerun it and compare the printed sha256 with TINY_WEIGHTS_SHA256 in
curation/models/mvit.py.

    uv run python scripts/pretrain_tiny.py [--workdir /tmp/curate-pretrain]
        [--out curation/models/weights/mvit_tiny_synth.pt] [--epochs 20]
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
from curation.ingest.layouts.folders import read_folders
from curation.ingest.pipeline import IngestOptions, ingest
from curation.frames.cache import cache_size_for
from curation.models.mvit import MODELS, TINY_WEIGHTS
from curation.synth_actions import generate_actions
from curation.train.config import TrainConfig
from curation.train.loop import train
from curation.workspace import Workspace

PRETRAIN_SEED = 1000
RECIPE = dict(model="mvit_tiny", weights="none", epochs=20, draws_per_epoch=1500, batch_size=8, lr=5e-4,
              warmup=0.05, balance=True, workers=0, seed=PRETRAIN_SEED)
TASK = "motion: heading of an object of any shape (up, down, toward, away), 4 classes"
NUISANCE = 0.3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", default="/tmp/curate-pretrain")
    ap.add_argument("--out", default=str(TINY_WEIGHTS))
    ap.add_argument("--videos", type=int, default=720, help="videos to generate (180 a class)")
    ap.add_argument("--epochs", type=int, default=RECIPE["epochs"], help="a weaker start for experiments: fewer")
    args = ap.parse_args()
    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    started = time.time()
    generate_actions(work / "data", n_train=args.videos, n_test=0, width=96, height=96, task="motion",
                     nuisance=NUISANCE, seed=PRETRAIN_SEED, progress=True)
    ws = Workspace.open(work / "ws", backend="lance")
    ingest(ws, read_folders(work / "data"), "pretrain",
           IngestOptions(clip=ClipConfig(), val_fraction=0.15, seed=PRETRAIN_SEED,
                         frame_size=cache_size_for(MODELS["mvit_tiny"].input_size)), progress=True)
    recipe = {**RECIPE, "epochs": args.epochs}
    run = train(ws, TrainConfig(table="pretrain/clips@1", name="pretrain", **recipe))
    record = ws.runs.record(run)
    model = torch.load(ws.runs.dir(run) / "best.pt", map_location="cpu", weights_only=False)["model"]
    backbone = {k.removeprefix("backbone."): v for k, v in model.items() if k.startswith("backbone.")}
    buf = io.BytesIO()
    torch.save({"state_dict": backbone, "model": "mvit_tiny", "recipe": recipe, "task": TASK, "nuisance": NUISANCE,
                "generator_seed": PRETRAIN_SEED, "videos": args.videos, "best": record.best}, buf)
    atomic_write_bytes(Path(args.out), buf.getvalue())
    print(f"{args.out}: {Path(args.out).stat().st_size / 1e6:.2f} MB, sha256 {sha256_file(Path(args.out))}; "
          f"best val {record.metric} {record.best_value:.4f} at epoch {record.best['epoch']}; "
          f"{(time.time() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
