"""`curate demo`: the loop on a synthetic dataset, offline, on CPU, in a few minutes.

Today: synth (with flipped labels, duplicates and corrupt files) → ingest → train the tiny MViT (round 1,
with per-sample dynamics and a collection pass) → down-weight the clips of the videos whose labels were
flipped → retrain on the new revision (round 2). Until `curate suggest` exists, the edit is taken from the
generator's ground truth and says so.
"""
from __future__ import annotations

import time
from pathlib import Path

from curation.ingest.pipeline import ingest
from curation.ingest.sources import read_nexar
from curation.synth import generate, load_truth
from curation.tables import Edit
from curation.train.config import TrainConfig
from curation.train.loop import train
from curation.workspace import Workspace


def run_demo(folder: Path, seed: int = 0, echo=print, quick: bool = False) -> dict:
    """`quick` shrinks data and training for tests; the numbers then only show that the loop runs."""
    folder = Path(folder)
    timings = {}
    t = time.time()
    data = folder / "data"
    generate(data, n_train=12 if quick else 40, n_test=4 if quick else 12, width=160 if quick else 320,
             height=96 if quick else 180, duration_s=4.0 if quick else 6.0, test_duration_s=3.0 if quick else 5.0,
             label_noise=0.2, n_duplicates=2, n_corrupt=3, seed=seed, progress=not quick)
    timings["synth"] = time.time() - t

    t = time.time()
    ws = Workspace.open(folder / "workspace", backend="lance")
    result = ingest(ws, read_nexar(data), "nexar", progress=not quick)
    timings["ingest"] = time.time() - t

    cfg = dict(model="mvit_tiny", weights="none", epochs=1 if quick else 3, draws_per_epoch=48 if quick else 600,
               batch_size=8, lr=5e-4, workers=0 if quick else 2, seed=seed)
    t = time.time()
    round1 = train(ws, TrainConfig(table="latest", name="round1", **cfg), echo=echo, progress=not quick)
    timings["train round 1"] = time.time() - t

    t = time.time()
    flipped = set(load_truth(data)["flipped"])
    head = ws.resolve("clips")
    clips = ws.tables.read(head, ["clip_id", "video_id"]).to_pylist()
    noisy = {c["clip_id"] for c in clips if c["video_id"] in flipped}
    edited = ws.tables.edit("nexar", "clips", Edit(weights={c: 0.0 for c in noisy}), base=head.number,
                            message="weight 0 for clips of videos with flipped labels (oracle, until suggest)")
    timings["edit"] = time.time() - t

    t = time.time()
    round2 = train(ws, TrainConfig(table="latest", name="round2", **cfg), echo=echo, progress=not quick)
    timings["train round 2"] = time.time() - t

    best = {r: (ws.runs.info(r).get("best") or {}).get("value") for r in (round1, round2)}
    echo("")
    echo(f"videos: {result.status}; clips per split: {result.clips}")
    echo(f"{edited.ref}: {edited.counts} ({len(flipped)} videos with flipped labels); "
         f"{head.ref} still reads {ws.tables.read(head).num_rows} rows with their original weights")
    echo(f"{'round':<8} {'run':<22} {'table':<16} val mAP")
    for name, run in (("1", round1), ("2", round2)):
        value = f"{best[run]:.3f}" if isinstance(best[run], float) else "n/a"
        echo(f"{name:<8} {run:<22} {ws.runs.info(run)['inputs']['ref']:<16} {value}")
    echo(f"{'stage':<14} seconds")
    for stage, secs in timings.items():
        echo(f"{stage:<14} {secs:7.1f}")
    return {"timings": timings, "ingest": result, "edit": edited, "runs": (round1, round2), "best": best}
