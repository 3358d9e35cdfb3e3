"""`curate submit`: one row per test video, ids as in test.csv, provenance that matches the checkpoint."""
import csv
import hashlib
import json

import pytest
from click.testing import CliRunner

from conftest import tiny_synth
from curation.cli import cli
from curation.ingest.pipeline import IngestOptions, ingest
from curation.ingest.layouts import read_nexar
from curation.train.config import TrainConfig
from curation.train.loop import train
from curation.workspace import Workspace


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("submit")
    root = base / "d"
    tiny_synth(root, seed=4, n_train=6, n_test=5)
    with open(root / "test.csv") as f:
        broken = sorted(r["id"] for r in csv.DictReader(f))[0]
    (root / "test" / f"{broken}.mp4").write_bytes(b"")  # an unscorable test video
    ws = Workspace.open(base / "ws", backend="lance")
    ingest(ws, read_nexar(root), "nexar", IngestOptions(frame_size=64), progress=False)
    run = train(ws, TrainConfig(model="mvit_tiny", weights="none", epochs=1, batch_size=4, workers=0,
                                draws_per_epoch=16), echo=lambda *_: None, progress=False)
    return ws, root, run, broken


def test_submission_has_every_test_id_in_sample_order_with_provenance(trained, tmp_path):
    ws, root, run, broken = trained
    out = tmp_path / "submission.csv"
    result = CliRunner().invoke(cli, ["--workspace", str(ws.root), "submit", "--run", run, "--run", "last",
                                      "--tta", "flip", "-o", str(out)])
    assert result.exit_code == 0, result.output + result.stderr
    assert "could not be scored" in result.output and broken in result.output
    with open(out) as f:
        rows = list(csv.DictReader(f))
    with open(root / "sample_submission.csv") as f:
        sample = [r["id"] for r in csv.DictReader(f)]
    assert [r["id"] for r in rows] == sample  # ids exactly as in test.csv, in the sample's order
    assert len({r["target"] for r in rows if r["id"] != broken}) > 1  # each scorable video has its own score
    prov = json.loads((tmp_path / "submission.provenance.json").read_text())
    assert prov["fallback"]["ids"] == [broken]
    assert float(next(r["target"] for r in rows if r["id"] == broken)) == pytest.approx(prov["fallback"]["value"])
    assert len(prov["runs"]) == 2 and prov["tta"] == "flip"
    for used in prov["runs"]:
        assert used["sha256"] == hashlib.sha256(ws.runs.read_file(used["run"], used["checkpoint"])).hexdigest()
    assert prov["table"]["ref"] == "nexar/test@1" and prov["table"]["fingerprint"] == ws.resolve("test").fingerprint


def test_submit_with_unknown_run_is_one_line_exit_2(trained, tmp_path):
    ws, *_ = trained
    result = CliRunner().invoke(cli, ["--workspace", str(ws.root), "submit", "--run", "nosuch",
                                      "-o", str(tmp_path / "s.csv")])
    assert result.exit_code == 2 and "unknown run" in result.stderr
    assert not (tmp_path / "s.csv").exists()
