"""Learnability check: the tiny MViT on the synthetic benchmark (clean labels), on CPU.

Prints val mAP (the competition's metric over τ = 0.5/1.0/1.5 s) per epoch against chance (the AP of a
constant score: the share of positives in each τ's pool), the time per stage, and the dynamics-logging
share of training time.

    uv run python bench/train_synth.py [--train 100] [--test 30] [--epochs 6] [--draws 1200]
"""
from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from curation.ingest.pipeline import IngestOptions, ingest
from curation.ingest.layouts import read_nexar
from curation.synth import generate
from curation.train.config import TrainConfig
from curation.train.loop import train
from curation.workspace import Workspace


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=100)
    ap.add_argument("--test", type=int, default=30)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--draws", type=int, default=1200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--workdir", default="/tmp/curate-bench-train")
    args = ap.parse_args()
    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    times = {}
    t = time.time()
    generate(work / "data", n_train=args.train, n_test=args.test, seed=0, progress=False)
    times["synth"] = time.time() - t
    t = time.time()
    ws = Workspace.open(work / "ws", backend="lance")
    ingest(ws, read_nexar(work / "data"), "nexar", IngestOptions(frame_size=64), progress=False)
    times["ingest"] = time.time() - t
    t = time.time()
    cfg = TrainConfig(model="mvit_tiny", weights="none", epochs=args.epochs, draws_per_epoch=args.draws,
                      batch_size=8, lr=5e-4, workers=args.workers)
    run = train(ws, cfg, echo=print, progress=False)
    times["train+collect"] = time.time() - t
    record = ws.runs.record(run)
    first = record.epochs[0]["val"]
    chance = {k: first["n_positive_videos"] / (first["n_positive_videos"] + first["n_negative_videos"])
              for k in ("mAP",)}
    print(f"\n{args.train} train / {args.test} test videos (320x180), clean labels; mvit_tiny 16x64x64, "
          f"{args.draws} draws/epoch, batch 8")
    print("epoch  train_loss  val_mAP   AP@0.5  AP@1.0  AP@1.5  seconds  dynamics logging")
    for e in record.epochs:
        v = e["val"]
        share = 100 * e["dynamics_logging_seconds"] / e["train_seconds"]
        print(f"{e['epoch']:>5}  {e['train_loss']:10.4f}  {v['mAP']:7.4f}  {v['ap_tau_0.5']:6.3f}  "
              f"{v['ap_tau_1.0']:6.3f}  {v['ap_tau_1.5']:6.3f}  {e['seconds']:7.1f}  {share:6.2f}% of train time")
    print(f"chance (constant score) mAP ≈ {chance['mAP']:.3f} "
          f"({first['n_positive_videos']} positive / {first['n_negative_videos']} negative val videos)")
    print(f"best val mAP {record.best_value:.4f} at epoch {record.best['epoch']}; "
          f"inference {record.inference_ms_per_clip:.2f} ms/clip (eval, batch 8, CPU)")
    print("stage seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in times.items()))


if __name__ == "__main__":
    main()
