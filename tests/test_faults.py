"""Kills at named points (curation.faults): every later command recovers, nothing is lost or stored twice."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import lance
import pyarrow.compute as pc
import pytest

from conftest import curate, snapshot
from curation.workspace import Workspace

KILLED = -9


@pytest.mark.parametrize("point, appending", [("cache.before_publish", False), ("cache.before_index", False),
                                              ("cache.before_index", True)])
def test_ingest_killed_while_filling_the_frame_cache_recovers(prebuilt, tmp_path, point, appending):
    ws, data = tmp_path / "ws", tmp_path / "data"
    shutil.copytree(prebuilt / "data", data)  # copy2 keeps mtimes: the same video signatures
    args = ("-w", ws, "ingest", "nexar", data, "--frame-size", "32")
    if appending:  # a cache exists; the kill lands in the append of a changed video's frames
        shutil.copytree(prebuilt / "ws", ws)
        sorted((data / "train").glob("*.mp4"))[0].touch()  # a new signature: decoded and appended again
    killed = curate(*args, env={"CURATE_FAULT": point})
    assert killed.returncode == KILLED
    again = curate(*args)
    assert again.returncode == 0, again.stderr
    cache = Workspace.open(ws).cache_dir("nexar")
    frames = lance.dataset(str(cache / "frames.lance")).to_table(columns=["frame_id"])["frame_id"]
    assert pc.count_distinct(frames).as_py() == len(frames)  # no frame stored twice
    reference = Workspace.open(prebuilt / "ws")
    assert sorted(frames.to_pylist()) == sorted(lance.dataset(str(reference.cache_dir("nexar") / "frames.lance"))
                                                .to_table(columns=["frame_id"])["frame_id"].to_pylist())
    assert not list(cache.glob(".frames.lance.*.tmp"))
    assert "unchanged" in curate(*args).stdout


def test_a_cache_left_unreadable_by_an_older_version_is_rebuilt(prebuilt, tmp_path):
    ws = tmp_path / "ws"
    broken = ws / "cache" / "nexar" / "frames.lance"
    (broken / "data").mkdir(parents=True)
    (broken / "data" / "partial.lance").write_bytes(b"\0" * 100)  # data files, no manifest: a killed create
    proc = curate("-w", ws, "ingest", "nexar", prebuilt / "data", "--frame-size", "32")
    assert proc.returncode == 0, proc.stderr
    assert lance.dataset(str(broken)).count_rows() > 0


def test_two_concurrent_ingests_store_each_frame_once(prebuilt, tmp_path):
    ws = tmp_path / "ws"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    cmd = [sys.executable, "-m", "curation.cli", "-w", str(ws), "ingest", "nexar", str(prebuilt / "data"),
           "--frame-size", "32"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert sum("unchanged" in out for out, _ in outs) == 1  # the second waited, then found nothing to do
    frames = lance.dataset(str(ws / "cache" / "nexar" / "frames.lance")).to_table(columns=["frame_id"])["frame_id"]
    assert pc.count_distinct(frames).as_py() == len(frames)
