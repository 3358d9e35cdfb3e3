"""`curate train --smoke`: every stage of a run on a few clips of the real table, nothing kept."""
import shutil

from conftest import assert_one_line_error, curate, snapshot

TINY = ["--model", "mvit_tiny", "--weights", "none", "--workers", "0", "--batch-size", "4"]


def test_smoke_runs_every_stage_and_writes_nothing(ws_dir):
    before = snapshot(ws_dir)
    proc = curate("-w", ws_dir, "train", "--smoke", *TINY)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines[-6:-1]] == ["setup", "train", "validate", "collect", "checkpoint"]
    assert "2 batch(es) of 4" in proc.stdout and "clips@1 8 rows" in proc.stdout and "test@1" in proc.stdout
    assert "weights identical" in proc.stdout and lines[-1].startswith("smoke test passed on nexar/clips@1")
    assert snapshot(ws_dir) == before  # no run, no collection, no cache change


def test_smoke_stops_on_an_unreadable_table_in_one_line(ws_own_data):
    ws_dir, data = ws_own_data
    shutil.rmtree(ws_dir / "cache" / "nexar" / "frames.lance")  # frames gone, and the sources with them
    shutil.rmtree(data)
    before = snapshot(ws_dir)
    assert_one_line_error(curate("-w", ws_dir, "train", "--smoke", *TINY), "could not be read")
    assert snapshot(ws_dir) == before
