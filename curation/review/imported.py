"""`curate import-predictions`: any external model's per-sample outputs (a VLM answering video questions, a
model trained elsewhere) joined by id to a samples revision and stored as a run, so that `show --run`, `suggest`
and the dashboard work on them as on a run of ours.

The file (CSV, or JSON: a list of objects or {"data": [...]}) has an `id` column and the prediction (`pred`,
`prediction` or `answer`: a class name, an answer letter, or "B. …"), with the model's probability of its
prediction (`prob`, `probability`) and/or the sample's loss (`loss`). From them, per sample: prob (of the
prediction), margin (+prob when it matches the label, −prob when not: an AUM of one epoch) and loss (given, or
−log of the probability the model gave the label, taken as 1 − prob when it predicted another answer).
"""
from __future__ import annotations

import math
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa

from curation.csvio import read_rows
from curation.errors import BadInput, NotFound
from curation.fsutil import read_json
from curation.runs.record import RunInputs, RunRecord
from curation.task import SAMPLES

PRED_COLUMNS, PROB_COLUMNS = ("pred", "prediction", "answer"), ("prob", "probability")
DYNAMICS = pa.schema([("clip_id", pa.string()), ("epoch", pa.int32()), ("step", pa.int32()), ("label", pa.int32()),
                      ("weight", pa.float32()), ("loss", pa.float32()), ("prob", pa.float32()),
                      ("margin", pa.float32()), ("pred", pa.int32())])  # one epoch of a run's dynamics


def import_predictions(ws, name: str, path: str | Path, table_ref: str | None = None) -> str:
    """Store the predictions in `path` as a new run named `name` over `table_ref` (default: the current
    dataset's samples table at head); returns the run id. Unknown ids or predictions reject the whole file."""
    path = Path(path)
    revision = ws.resolve(table_ref or ws.task().ref(SAMPLES))
    task = ws.task(revision.dataset)
    task.require(ws.tables, revision, (SAMPLES,), "predictions are imported for the samples (clips) table")
    samples = {r["clip_id"]: r for r in ws.tables.read(revision, ["clip_id", "label", "weight"]).to_pylist()}
    rows = _read(path)
    repeated = sorted({i for i, n in Counter(str(r.get("id", "")) for r in rows).items() if n > 1})
    if repeated:
        raise BadInput(f"{path.name} has more than one prediction for {len(repeated)} id(s): "
                       f"{', '.join(repeated[:5])}{' …' if len(repeated) > 5 else ''}", "give one row per sample")
    columns = []
    for row in rows:
        where = f"{path.name} {row['_where']}"
        sample = samples.get(str(row.get("id", "")))
        if sample is None:
            raise NotFound(f"{where}: unknown id {row.get('id')!r} in {revision.ref}", "check the ids")
        pred = _class_index(row, task.classes, where)
        prob, loss = _number(row, PROB_COLUMNS, where, 0, 1), _number(row, ("loss",), where, 0, math.inf)
        if prob is None and loss is None:
            raise BadInput(f"{where}: no probability and no loss", "give prob (of the prediction) or loss")
        columns.append(_outputs(sample, pred, prob, loss))
    if not columns:
        raise BadInput(f"{path.name} has no predictions", "give one row per sample")
    run = ws.runs.create(name)
    ws.runs.write_dynamics(run, 1, pa.Table.from_pylist(columns, schema=DYNAMICS))
    labelled = [c for c in columns if c["label"] is not None]
    accuracy = sum(c["pred"] == c["label"] for c in labelled) / len(labelled) if labelled else None
    record = RunRecord(
        run=run, status="completed", config={"model": "external", "imported_from": str(path.resolve())},
        inputs=RunInputs(dataset=revision.dataset, table=revision.table, revision=revision.number, ref=revision.ref,
                         fingerprint=revision.fingerprint, rows=revision.rows),
        backend=ws.backend, task="binary" if len(task.classes) == 2 else "multiclass", classes=list(task.classes),
        metric="accuracy", model={"name": "external"}, device="",
        epochs=[{"epoch": 1, "train_loss": None, "predictions": len(columns), "val": {"accuracy": accuracy}}],
        best={"epoch": 1, "metric": "accuracy", "value": accuracy} if accuracy is not None else None,
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    ws.runs.write_record(run, record)
    return run


def _read(path: Path) -> list[dict]:
    if not path.is_file():
        raise NotFound(f"{path} does not exist", "give the path of a predictions file")
    if path.suffix.lower() == ".json":
        data = read_json(path, "fix the file")
        items = data.get("data") if isinstance(data, dict) else data
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise BadInput(f"{path.name} is not a list of predictions", 'give [{"id": …, "pred": …}, …]')
        return [{**item, "id": str(item.get("id", "")).strip(), "_where": f"item {k + 1}"}
                for k, item in enumerate(items)]  # " q1 " is q1, as in a CSV
    return [{**row, "_where": f"line {row['_line']}"} for row in read_rows(path, ["id"], "predictions")]


def _class_index(row: dict, classes: tuple, where: str) -> int:
    value = next((row[c] for c in PRED_COLUMNS if row.get(c) not in (None, "")), None)
    if value is None:
        raise BadInput(f"{where}: no prediction", f"give one of the columns {', '.join(PRED_COLUMNS)}")
    text = str(value).strip()
    if text in classes:
        return classes.index(text)
    letter = text[:1].upper()  # "B" or "B. turn left"
    if letter in classes and (len(text) == 1 or text[1] in ".):"):
        return classes.index(letter)
    raise BadInput(f"{where}: prediction {text!r} is not one of {', '.join(classes)}", "fix the prediction")


def _number(row: dict, names: tuple, where: str, low: float, high: float) -> float | None:
    value = next((row[c] for c in names if row.get(c) not in (None, "")), None)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not low <= number <= high:
        raise BadInput(f"{where}: {names[0]} {value!r} is not a number in [{low:g}, {high:g}]", "fix the value")
    return number


def _outputs(sample: dict, pred: int, prob: float | None, loss: float | None) -> dict:
    label = sample["label"]
    matches = label is not None and pred == label
    if loss is None and label is not None:
        loss = -math.log(max(prob if matches else 1 - prob, 1e-7))
    margin = None if label is None or prob is None else (prob if matches else -prob)
    return {"clip_id": sample["clip_id"], "epoch": 1, "step": 0, "label": label, "weight": sample["weight"],
            "loss": loss, "prob": prob, "margin": margin, "pred": pred}
