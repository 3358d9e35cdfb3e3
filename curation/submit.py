"""`curate submit`: one score per test video from one or more runs, as `id,target`, with provenance.

Each test video is scored on its final window (the clip ending at its last frame, as the winning solution
did); several runs are averaged (a k-fold ensemble). Videos that cannot be scored (corrupt, missing, or
no clip) still get a row: the median of the scored videos' probabilities — a neutral rank — and a warning.
"""
from __future__ import annotations

import csv
import io
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from curation.csvio import read_rows
from curation.errors import BadInput, Fix, NotFound
from curation.fsutil import json_bytes, output_target, write_output
from curation.task import TEST, VIDEOS
from curation.workspace import Workspace

if TYPE_CHECKING:  # torch, cv2 and lance load only once a submission is made
    from curation.data.dataset import ClipDataset

FALLBACK = "median of the scored test videos' probabilities"


def _final_windows(dataset: ClipDataset) -> list[int]:
    """Per video, the row of the clip that ends last."""
    best: dict[str, int] = {}
    for i, (video, end) in enumerate(zip(dataset.video_ids, dataset.end_frame)):
        if video not in best or end > dataset.end_frame[best[video]]:
            best[video] = i
    return sorted(best.values())


def _submission_order(task, ids: list[str]) -> list[str]:
    """The order of sample_submission.csv when the dataset root has one, else sorted ids."""
    sample = Path(task.root) / "sample_submission.csv"
    if sample.exists():
        order = [row["id"] for row in read_rows(sample, ["id"], "sample submission") if row["id"]]
        if set(order) == set(ids):
            return order
    return sorted(ids)


def submit(ws: Workspace, runs: list[str], table: str | None = None, out: str | Path = "submission.csv",
           checkpoint: str = "best", tta: str = "none", echo=print, progress: bool = True) -> dict:
    """Write `out` (id,target) and `<out stem>.provenance.json`; returns the provenance."""
    if not runs:
        raise BadInput("no run given", Fix("name a run (several are averaged)", "name_runs"))
    if tta not in ("none", "flip"):
        raise BadInput(f"unknown test-time augmentation {tta!r}", "use none or flip")
    for target in (out, provenance_path(out)):  # refused before any work
        output_target(target)
    revision = ws.resolve(table or ws.task().ref(TEST))
    task = ws.task(revision.dataset)
    if task.submission is None:
        raise BadInput(f"dataset {revision.dataset} ({task.layout} layout) has no competition submission",
                       "evaluate or export it instead")
    task.require(ws.tables, revision, (TEST,), "a submission scores the test videos")
    videos_rev = task.head(ws.tables, VIDEOS)
    videos = ws.tables.read(videos_rev, ["video_id", "split", "status"]).to_pylist()
    test_ids = [v["video_id"] for v in videos if v["split"] == "test"]
    if not test_ids:
        raise NotFound(f"{revision.dataset} has no test videos", "ingest a dataset with a test split")

    from curation.train.predict import load_predictor  # torch: imported once the inputs are known to be right

    scores: dict[str, list[float]] = {}
    used = []
    for run_ref in runs:
        predictor, record, file = load_predictor(ws, run_ref, checkpoint, progress)
        if not predictor.binary:
            raise BadInput(f"run {record.run} is a {len(record.classes)}-class model",
                           "submission files score a binary task (Nexar)")
        dataset = predictor.dataset(ws, revision)
        rows = _final_windows(dataset)
        out_rows = predictor.predict(dataset, f"scoring {revision.ref} with {record.run}",
                                     loader=predictor.loader(dataset, rows), flip_tta=tta == "flip")
        for index, prob in zip(out_rows["index"], out_rows["prob"]):
            scores.setdefault(dataset.video_ids[index], []).append(float(prob))
        ck = record.checkpoints.get(checkpoint, {})
        used.append({"run": record.run, "checkpoint": file, "sha256": ck.get("sha256"),
                     "trained_on": record.inputs.ref, "fingerprint": record.inputs.fingerprint,
                     "skipped_clips": out_rows["skipped"]})

    complete = {v: float(np.mean(s)) for v, s in scores.items() if len(s) == len(runs)}
    fallback_value = float(np.median(list(complete.values()))) if complete else 0.5
    missing = [v for v in test_ids if v not in complete]
    if missing:
        status = {v["video_id"]: v["status"] for v in videos}
        echo(f"warning: {len(missing)} test video(s) could not be scored ("
             + ", ".join(f"{v} {status[v]}" for v in missing[:5]) + (" …" if len(missing) > 5 else "")
             + f"); they get {fallback_value:.4f}, the {FALLBACK}")
    order = _submission_order(task, test_ids)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", "target"])
    for video in order:
        writer.writerow([video, f"{complete.get(video, fallback_value):.6f}"])
    write_output(out, buf.getvalue().encode())
    provenance = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv), "submission": str(out), "rows": len(order),
        "table": {"ref": revision.ref, "fingerprint": revision.fingerprint},
        "videos": {"ref": videos_rev.ref, "fingerprint": videos_rev.fingerprint},
        "runs": used, "checkpoint": checkpoint, "tta": tta, "window": "final (clip ending at the last frame)",
        "fallback": {"rule": FALLBACK, "value": fallback_value, "ids": missing},
    }
    write_output(provenance_path(out), json_bytes(provenance))
    return provenance


def provenance_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.stem + ".provenance.json")
