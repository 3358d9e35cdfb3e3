"""The training recipe: which settings make the tiny model learn the synthetic task on every seed, at the
demo's scale, on CPU?

For each data seed: the demo's synthetic data (train.csv videos with 20% flipped labels), ingested with a
checked val split (true labels, so val mAP measures the model, not the flips) and frames cached at the
training size. Then every variant (a set of `TrainConfig` overrides on top of a base) is trained with every
training seed; per run: val mAP per epoch, the last train loss, seconds, and whether it learned (best val mAP
≥ --learned). A table per run, then one line per variant over all its runs.

    uv run python bench/recipe.py [--data-seeds 0,1,2] [--seeds 0] [--variants base,balance,...]
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np

from curation.frames.cache import cache_size_for
from curation.ingest.pipeline import IngestOptions, ingest
from curation.models.mvit import MODELS
from curation.review.suggest import label_issues
from curation.synth import generate, load_truth
from curation.synth_views import checked_val, labelled_view
from curation.train.config import TrainConfig
from curation.train.loop import train
from curation.workspace import Workspace

BASE = dict(model="mvit_tiny", weights="none", epochs=3, draws_per_epoch=600, batch_size=8, lr=5e-4, workers=2)
VARIANTS = {
    "base": {},
    "balance": {"balance": True},
    "warmup": {"warmup": 0.1, "lr": 1e-3},
    "light": {"train_preset": "light"},
    "balance-warmup": {"balance": True, "warmup": 0.1, "lr": 1e-3},
    "balance-warmup-2e-3": {"balance": True, "warmup": 0.1, "lr": 2e-3},
    "balance-light": {"balance": True, "train_preset": "light"},
    "all": {"balance": True, "warmup": 0.1, "lr": 1e-3, "train_preset": "light"},
}


def dataset(work: Path, seed: int, args) -> tuple[Workspace, set[str]]:
    """The workspace of data seed `seed` (made once; reused) and the flipped train videos."""
    data, ws_dir = work / f"data-{seed}", work / f"ws-{seed}"
    if not (ws_dir / ".done").exists():
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(ws_dir, ignore_errors=True)
        width, height = (int(x) for x in args.size.split("x"))
        generate(data, n_train=args.train, n_test=4, width=width, height=height, duration_s=6.0,
                 label_noise=args.noise, n_duplicates=0, n_corrupt=0, seed=seed, progress=False)
        ws = Workspace.open(ws_dir, backend="lance")
        val = checked_val(data, 0.2, seed)
        ingest(ws, labelled_view(data, val), "synth",
               IngestOptions(frame_size=cache_size_for(MODELS["mvit_tiny"].input_size), seed=seed), progress=False)
        (ws_dir / ".done").write_text("")
    ws = Workspace.open(ws_dir, backend="lance")
    val = checked_val(data, 0.2, seed)
    return ws, set(load_truth(data)["flipped"]) - val


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-seeds", default="0,1,2")
    ap.add_argument("--seeds", default="0", help="training seeds")
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"of: {', '.join(VARIANTS)}")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override the base (e.g. epochs=4); JSON values")
    ap.add_argument("--train", type=int, default=40, help="train.csv videos (a fifth become val)")
    ap.add_argument("--noise", type=float, default=0.2)
    ap.add_argument("--size", default="320x180")
    ap.add_argument("--learned", type=float, default=0.8, help="best val mAP that counts as learned")
    ap.add_argument("--workdir", default="/tmp/curate-bench-recipe")
    ap.add_argument("--out", help="append the runs as JSON lines here")
    args = ap.parse_args()
    base = {**BASE, **{k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}}
    work = Path(args.workdir)
    results = []
    print(f"base {base}; {args.train} train.csv videos, {args.noise:.0%} flipped, checked val", flush=True)
    for data_seed in (int(s) for s in args.data_seeds.split(",")):
        ws, flipped = dataset(work, data_seed, args)
        for name in args.variants.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                start = time.time()
                run = train(ws, TrainConfig(table="synth/clips@1", name=name, seed=seed, **{**base, **VARIANTS[name]}),
                            echo=lambda *a: None, progress=False)
                record = ws.runs.record(run)
                curve = [e["val"]["mAP"] for e in record.epochs]
                flagged = {s.id for s in label_issues(ws, run)}
                hits = len(flagged & flipped)
                row = {"variant": name, "data_seed": data_seed, "seed": seed, "curve": curve, "best": max(curve),
                       "loss": record.epochs[-1]["train_loss"], "seconds": time.time() - start,
                       "flagged": len(flagged), "hits": hits, "flipped": len(flipped)}
                results.append(row)
                print(f"{name:<16} data {data_seed} seed {seed}: val mAP {' '.join(f'{v:.3f}' for v in curve)} "
                      f"loss {row['loss']:.3f}  label issues {hits}/{len(flagged)} of {len(flipped)} flips  "
                      f"({row['seconds']:.0f} s)", flush=True)
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(json.dumps(row) + "\n")
    print(f"\n{'variant':<16} runs learned  best min  mean   P      R     seconds")
    for name in args.variants.split(","):
        rows = [r for r in results if r["variant"] == name]
        best = np.array([r["best"] for r in rows])
        p = np.mean([r["hits"] / r["flagged"] if r["flagged"] else 0 for r in rows])
        rc = np.mean([r["hits"] / r["flipped"] if r["flipped"] else 0 for r in rows])
        print(f"{name:<16} {len(rows):>4} {int((best >= args.learned).sum()):>7}  {best.min():.3f}  {best.mean():.3f}  "
              f"{p:.2f}  {rc:.2f}  {np.mean([r['seconds'] for r in rows]):6.0f}")


if __name__ == "__main__":
    main()
