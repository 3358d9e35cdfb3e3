"""Make the tiny model's pretrained starting point, `curation/models/weights/mvit_tiny_synth.pt`, from synthetic
data disjoint from everything it is evaluated on.

Real users start MViTv2-S from Kinetics-400 weights; the CPU-sized `mvit_tiny` has none, and from random
initialisation it sits at the class prior for thousands of draws and learns on some seeds only (bench/README.md,
recipe.py). This script trains it once, on clean labels, on generator seeds that no demo, test or benchmark uses
(PRETRAIN_SEED and up; they use 0–99) with another label rule (`horizon:1`: a clip is positive when it ends
within 1 s before the event, when the vehicle fills the view, where the demo's rule is alert→event), and keeps
the backbone of the best epoch (the head starts new when the weights are loaded). Deterministic on CPU
(workers=0, fixed seeds): rerun it and compare the printed sha256 with TINY_WEIGHTS_SHA256 in
curation/models/mvit.py. `--epochs` below the recipe's 8 makes a weaker start for experiments (bench/README.md,
label_noise step 5), not the packaged file.

    uv run python scripts/pretrain_tiny.py [--workdir /tmp/curate-pretrain]
        [--out curation/models/weights/mvit_tiny_synth.pt] [--epochs 8]

About 9 minutes on 2 cores.
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
from curation.ingest.pipeline import IngestOptions, ingest
from curation.frames.cache import cache_size_for
from curation.models.mvit import MODELS, TINY_WEIGHTS
from curation.synth import generate
from curation.train.config import TrainConfig
from curation.train.loop import train
from curation.workspace import Workspace

PRETRAIN_SEED = 1000
RECIPE = dict(model="mvit_tiny", weights="none", epochs=8, draws_per_epoch=1500, batch_size=8, lr=5e-4,
              warmup=0.05, balance=True, workers=0, seed=PRETRAIN_SEED)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", default="/tmp/curate-pretrain")
    ap.add_argument("--out", default=str(TINY_WEIGHTS))
    ap.add_argument("--videos", type=int, default=200, help="train.csv videos to generate")
    ap.add_argument("--epochs", type=int, default=RECIPE["epochs"], help="a weaker start for experiments: fewer")
    args = ap.parse_args()
    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    started = time.time()
    generate(work / "data", n_train=args.videos, n_test=4, width=160, height=96, duration_s=8.0, label_noise=0.0,
             n_duplicates=0, n_corrupt=0, seed=PRETRAIN_SEED, progress=True)
    ws = Workspace.open(work / "ws", backend="lance")
    ingest(ws, read_nexar(work / "data"), "pretrain",
           IngestOptions(clip=ClipConfig(), label_rule="horizon:1", val_fraction=0.15, seed=PRETRAIN_SEED,
                         frame_size=cache_size_for(MODELS["mvit_tiny"].input_size)), progress=True)
    recipe = {**RECIPE, "epochs": args.epochs}
    run = train(ws, TrainConfig(table="pretrain/clips@1", name="pretrain", **recipe))
    record = ws.runs.record(run)
    model = torch.load(ws.runs.dir(run) / "best.pt", map_location="cpu", weights_only=False)["model"]
    backbone = {k.removeprefix("backbone."): v for k, v in model.items() if k.startswith("backbone.")}
    buf = io.BytesIO()
    torch.save({"state_dict": backbone, "model": "mvit_tiny", "recipe": recipe, "label_rule": "horizon:1",
                "generator_seed": PRETRAIN_SEED, "videos": args.videos, "best": record.best}, buf)
    atomic_write_bytes(Path(args.out), buf.getvalue())
    print(f"{args.out}: {Path(args.out).stat().st_size / 1e6:.2f} MB, sha256 {sha256_file(Path(args.out))}; "
          f"best val {record.metric} {record.best_value:.4f} at epoch {record.best['epoch']}; "
          f"{(time.time() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
