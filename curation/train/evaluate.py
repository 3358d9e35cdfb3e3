"""`curate evaluate`: a finished run's checkpoint scored on one split of a table revision (by default the test
split of the revision it trained on) — the task's metrics and inference time per clip at a chosen batch size,
recorded in the run."""
from __future__ import annotations

import time

import pyarrow.compute as pc

from curation.data.dataset import ClipDataset, ClipLoader
from curation.errors import BadInput, Fix
from curation.jsonsafe import json_value
from curation.task import SAMPLES, TEST
from curation.train.loop import inference_trainer


def evaluate(ws, run_ref: str, table_ref: str | None = None, split: str = "test", batch_size: int | None = None,
             checkpoint: str = "best", echo=print, progress: bool = True) -> dict:
    """Score the run on `split` of `table_ref` (default: the revision it trained on); returns what is recorded
    in the run under `evaluations`."""
    if batch_size is not None and batch_size < 1:
        raise BadInput(f"batch size {batch_size} is invalid", "use 1 or more")
    run = ws.runs.resolve(run_ref)
    record = ws.runs.record(run)  # the table is checked before the (slow) model is loaded
    revision = ws.resolve(table_ref) if table_ref else record.trained_on(ws.tables)
    if revision.dataset != record.inputs.dataset:
        raise BadInput(f"run {run} was trained on dataset {record.inputs.dataset}, not {revision.dataset}",
                       "evaluate a table of the run's own dataset")
    ws.task(revision.dataset).require(ws.tables, revision, (SAMPLES, TEST), "evaluate scores clips")
    trainer, record, _ = inference_trainer(ws, run, checkpoint, echo, progress)
    where = pc.field("split") == split
    if trainer.competition:  # the competition scores its windows only
        where = where & pc.field("eval_window").is_valid()
    dataset = ClipDataset.from_revision(ws, revision, trainer.eval_tf, where=where)
    if len(dataset) == 0:
        raise BadInput(f"{revision.ref} has no {split} clips",
                       Fix("ingest with a test share, or evaluate another split", "evaluate_split"))
    size = batch_size or trainer.cfg.batch_size
    loader = ClipLoader(dataset, size, sampler=list(range(len(dataset))), workers=min(trainer.cfg.workers, 1),
                        device=trainer.device)
    out = trainer.predict(dataset, f"evaluating {revision.ref} ({split})", loader)
    unlabelled = (dataset.labels < 0).all()  # e.g. a test split: predictions and timing, but nothing to score
    result = {"table": revision.ref, "fingerprint": revision.fingerprint, "split": split, "checkpoint": checkpoint,
              "clips": len(out["index"]), "skipped": [list(s) for s in out["skipped"]][:50],
              "metrics": None if unlabelled else json_value(trainer.score(dataset, out)),
              "no_metrics": f"the {split} clips have no labels" if unlabelled else None, "batch_size": size,
              "ms_per_clip": round(out["ms_per_clip"], 3), "device": str(trainer.device),
              "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    record.evaluations[f"{revision.table}@{revision.number}:{split}"] = result
    ws.runs.write_record(trainer.run, record)
    return result
