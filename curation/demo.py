"""`curate demo`: the loop on a synthetic dataset, offline, on CPU. Grows with the project: today it
generates data, ingests it, edits the clips table and shows that the old revision is intact."""
from __future__ import annotations

import time
from pathlib import Path

from curation.ingest.pipeline import ingest
from curation.ingest.sources import read_nexar
from curation.synth import generate, load_truth
from curation.tables import Edit
from curation.workspace import Workspace


def run_demo(folder: Path, seed: int = 0, echo=print) -> dict:
    folder = Path(folder)
    timings = {}
    t = time.time()
    data = folder / "data"
    generate(data, n_train=40, n_test=12, duration_s=6.0, test_duration_s=5.0, label_noise=0.2,
             n_duplicates=2, n_corrupt=3, seed=seed, progress=True)
    timings["synth"] = time.time() - t

    t = time.time()
    ws = Workspace.open(folder / "workspace", backend="lance")
    result = ingest(ws, read_nexar(data), "nexar")
    timings["ingest"] = time.time() - t

    t = time.time()
    truth = load_truth(data)
    flipped = set(truth["flipped"])
    clips = ws.tables.read(ws.resolve("clips"), ["clip_id", "video_id"]).to_pylist()
    noisy = {c["clip_id"] for c in clips if c["video_id"] in flipped}
    first = ws.resolve("clips")
    rev = ws.tables.edit("nexar", "clips", Edit(weights={c: 0.0 for c in noisy}),
                         message="zero-weight clips of the videos whose labels the generator flipped",
                         base=first.number)
    timings["edit"] = time.time() - t

    echo("")
    echo(f"videos: {result.status}; problems: {len(result.problems)}")
    echo(f"clips per split: {result.clips}")
    echo(f"edit: {rev.ref} {rev.counts}; {first.ref} still reads {ws.tables.read(first).num_rows} rows "
         f"with their original weights")
    echo("stage        seconds")
    for stage, secs in timings.items():
        echo(f"{stage:<12} {secs:7.1f}")
    return {"timings": timings, "ingest": result, "edit": rev}
