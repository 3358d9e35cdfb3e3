"""`curate evaluate`: a finished run's checkpoint scored on one split of a table revision (by default the test
split of the revision it trained on) — the task's metrics and inference time per clip at a chosen batch size,
recorded in the run."""
from __future__ import annotations

import time

import pyarrow.compute as pc

from curation.errors import BadInput, Fix
from curation.jsonsafe import json_value
from curation.task import SAMPLES, TEST
from curation.train.loop import score_outputs
from curation.train.predict import load_predictor


def evaluate(ws, run_ref: str, table_ref: str | None = None, split: str = "test", batch_size: int | None = None,
             checkpoint: str = "best", progress: bool = True) -> dict:
    """Score the run on `split` of `table_ref` (default: the revision it trained on), against the targets of the
    videos revision the run pinned; returns what is recorded in the run under `evaluations`."""
    if batch_size is not None and batch_size < 1:
        raise BadInput(f"batch size {batch_size} is invalid", "use 1 or more")
    run = ws.runs.resolve(run_ref)
    record = ws.runs.record(run)  # the table is checked before the (slow) model is loaded
    revision = ws.resolve(table_ref) if table_ref else record.trained_on(ws.tables)
    if revision.dataset != record.inputs.dataset:
        raise BadInput(f"run {run} was trained on dataset {record.inputs.dataset}, not {revision.dataset}",
                       "evaluate a table of the run's own dataset")
    task = ws.task(revision.dataset)
    task.require(ws.tables, revision, (SAMPLES, TEST), "evaluate scores clips")
    predictor, record, _ = load_predictor(ws, run, checkpoint, progress)
    dataset = predictor.dataset(ws, revision, where=task.scored(pc.field("split") == split))
    if len(dataset) == 0:
        raise BadInput(f"{revision.ref} has no {split} clips",
                       Fix("ingest with a test share, or evaluate another split", "evaluate_split"))
    size = batch_size or predictor.batch_size
    out = predictor.predict(dataset, f"evaluating {revision.ref} ({split})", predictor.loader(dataset, batch_size=size))
    unlabelled = (dataset.labels < 0).all()  # e.g. a test split: predictions and timing, but nothing to score
    targets = task.targets(ws.tables, dataset.rows, task.videos_at(ws.tables, record.inputs.videos))
    result = {"table": revision.ref, "fingerprint": revision.fingerprint, "split": split, "checkpoint": checkpoint,
              "clips": len(out["index"]), "skipped": [list(s) for s in out["skipped"]][:50],
              "metrics": None if unlabelled else json_value(score_outputs(task, targets, out)),
              "no_metrics": f"the {split} clips have no labels" if unlabelled else None, "batch_size": size,
              "ms_per_clip": round(out["ms_per_clip"], 3), "device": str(predictor.device),
              "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    record.evaluations[f"{revision.table}@{revision.number}:{split}"] = result
    ws.runs.write_record(run, record)
    return result
