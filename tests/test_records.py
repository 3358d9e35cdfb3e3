"""Typed run records: run.json read through RunRecord, older records migrated, newer or unknown ones refused
in one line."""
import json

import pytest

from conftest import assert_one_line_error, curate
from curation.errors import BadInput
from curation.runs.record import RUN_SCHEMA, RunRecord
from curation.workspace import Workspace

INPUTS = {"dataset": "nexar", "table": "clips", "revision": 1, "ref": "nexar/clips@1", "fingerprint": "f"}


def _write_run(ws_dir, name: str, record: dict) -> None:
    folder = ws_dir / "runs" / name
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps(record))


def test_a_schema_1_record_is_read_and_names_its_revision(ws_dir):
    old = {"run": "run-0001", "status": "completed", "config": {"model": "mvit_tiny"}, "inputs": INPUTS,
           "epochs": [{"epoch": 1}], "best": {"epoch": 1, "metric": "mAP", "value": 0.5}}  # no "schema"
    _write_run(ws_dir, "run-0001", old)
    ws = Workspace.open(ws_dir)
    record = ws.runs.record("run-0001")
    assert record.schema == RUN_SCHEMA and record.best_value == 0.5
    assert record.trained_on(ws.tables) == ws.tables.revision("nexar", "clips", 1)
    assert str(record.training_collection()) == "clips@1"
    listing = curate("-w", ws_dir, "runs")
    assert listing.returncode == 0 and "run-0001" in listing.stdout and "mAP 0.5000 @ epoch 1" in listing.stdout


@pytest.mark.parametrize("change, needle", [
    ({"schema": RUN_SCHEMA + 1}, f"has run schema {RUN_SCHEMA + 1}"),
    ({"mixup_stats": {}}, "unknown field(s): mixup_stats"),
])
def test_newer_or_unknown_records_are_refused_in_one_line(ws_dir, change, needle):
    _write_run(ws_dir, "run-0001", {"run": "run-0001", "config": {}, "inputs": INPUTS, **change})
    assert_one_line_error(curate("-w", ws_dir, "report", "--run", "run-0001"), needle)
    listing = curate("-w", ws_dir, "runs")  # one unreadable run does not hide the list
    assert listing.returncode == 0 and needle in listing.stdout


def test_records_round_trip():
    record = RunRecord.from_dict({"run": "r", "config": {"lr": 1}, "inputs": INPUTS, "classes": ["a", "b"]})
    assert RunRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record
    with pytest.raises(BadInput, match="lacks inputs"):
        RunRecord.from_dict({"run": "r", "config": {}})
