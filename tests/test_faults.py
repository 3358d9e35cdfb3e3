"""Kills at named points (curation.faults): every later command recovers, nothing is lost or stored twice."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import lance
import pyarrow.compute as pc
import pytest

from conftest import assert_one_line_error, curate, curate_subprocess, snapshot
from curation.workspace import Workspace

KILLED = -9


@pytest.mark.parametrize("point, appending", [("cache.before_commit", False), ("cache.before_index", False),
                                              ("cache.before_index", True)])
@pytest.mark.slow
def test_ingest_killed_while_filling_the_frame_cache_recovers(prebuilt, tmp_path, point, appending):
    ws, data = tmp_path / "ws", tmp_path / "data"
    shutil.copytree(prebuilt / "data", data)  # copy2 keeps mtimes: the same video signatures
    args = ("-w", ws, "ingest", "nexar", data, "--frame-size", "32")
    if appending:  # a cache exists; the kill lands in the append of a changed video's frames
        shutil.copytree(prebuilt / "ws", ws)
        sorted((data / "train").glob("*.mp4"))[0].touch()  # a new signature: decoded and appended again
    tag = uuid.uuid4().hex
    killed = curate_subprocess(*args, "--workers", "2", env={"CURATE_FAULT": point, "CURATE_TEST_TAG": tag})
    assert killed.returncode == KILLED
    deadline = time.time() + 30
    while _tagged_processes(tag) and time.time() < deadline:
        time.sleep(0.5)
    assert _tagged_processes(tag) == []  # the ingest's worker processes ended with it
    again = curate(*args)
    assert again.returncode == 0, again.stderr
    cache = Workspace.open(ws).cache("nexar").root
    frames = lance.dataset(str(cache / "frames.lance")).to_table(columns=["frame_id"])["frame_id"]
    assert pc.count_distinct(frames).as_py() == len(frames)  # no frame stored twice
    reference = Workspace.open(prebuilt / "ws")
    assert sorted(frames.to_pylist()) == sorted(lance.dataset(str(reference.cache("nexar").root / "frames.lance"))
                                                .to_table(columns=["frame_id"])["frame_id"].to_pylist())
    assert "unchanged" in curate(*args).stdout


def test_a_cache_left_unreadable_by_an_older_version_is_rebuilt(prebuilt, tmp_path):
    ws = tmp_path / "ws"
    broken = ws / "cache" / "nexar" / "frames.lance"
    (broken / "data").mkdir(parents=True)
    (broken / "data" / "partial.lance").write_bytes(b"\0" * 100)  # data files, no manifest: a killed create
    proc = curate("-w", ws, "ingest", "nexar", prebuilt / "data", "--frame-size", "32")
    assert proc.returncode == 0, proc.stderr
    assert lance.dataset(str(broken)).count_rows() > 0


@pytest.mark.slow
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


TRAIN = ("train", "--model", "mvit_tiny", "--weights", "none", "--batch-size", "2", "--draws", "8", "--lr", "1e-3")


def _tagged_processes(tag: str) -> list[int]:
    """Pids of processes whose environment carries `tag` (a trainer and everything it started)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if f"CURATE_TEST_TAG={tag}".encode() in (proc / "environ").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                pass
    return found


@pytest.mark.slow
def test_killed_trainer_leaves_no_worker_forkserver_or_tracker_behind(ws_dir):
    tag = uuid.uuid4().hex
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "CURATE_FAULT": "train.step@3",
           "CURATE_TEST_TAG": tag}
    trainer = subprocess.Popen([sys.executable, "-m", "curation.cli", "-w", ws_dir, *TRAIN, "--epochs", "2",
                                "--workers", "2"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # no pipes: waiting on them would wait for the workers
    workers = 0
    while trainer.poll() is None:
        workers = max(workers, len(_tagged_processes(tag)) - 1)
        time.sleep(0.05)
    assert trainer.returncode == KILLED and workers >= 2  # killed while its loader workers ran
    deadline = time.time() + 2  # workers watch their owner five times a second
    while _tagged_processes(tag) and time.time() < deadline:
        time.sleep(0.05)
    assert _tagged_processes(tag) == []


@pytest.mark.slow
def test_run_killed_mid_epoch_resumes_without_duplicate_rows(ws_dir):
    from collections import Counter

    killed = curate_subprocess("-w", ws_dir, *TRAIN, "--epochs", "3", "--workers", "0",
                               env={"CURATE_FAULT": "train.step@6"})
    assert killed.returncode == KILLED  # 4 steps an epoch: the 6th step is inside epoch 2
    ws = Workspace.open(ws_dir)
    run = ws.runs.resolve("last")
    assert ws.runs.record(run).status == "killed" and len(ws.runs.record(run).epochs) == 1  # its process is gone
    listed = curate("-w", ws_dir, "runs").stdout
    assert f"{run} " in listed and "killed" in listed and f"curate train --resume {run}" in listed
    proc = curate("-w", ws_dir, "train", "--resume", run)
    assert proc.returncode == 0, proc.stderr
    info = ws.runs.record(run).to_dict()
    assert info["status"] == "completed" and [e["epoch"] for e in info["epochs"]] == [1, 2, 3]
    assert Counter(ws.runs.dynamics(run)["epoch"].to_pylist()) == {1: 8, 2: 8, 3: 8}
    again = curate("-w", ws_dir, "train", "--resume", run)
    assert again.returncode == 2 and "already completed" in again.stderr


@pytest.mark.slow
def test_run_killed_in_the_collection_pass_resumes_to_collection_and_best(ws_dir):
    killed = curate_subprocess("-w", ws_dir, *TRAIN, "--epochs", "2", "--workers", "0",
                               env={"CURATE_FAULT": "train.collect"})
    assert killed.returncode == KILLED
    ws = Workspace.open(ws_dir)
    run = ws.runs.resolve("last")
    assert len(ws.runs.record(run).epochs) == 2 and not ws.runs.collections(run)
    proc = curate("-w", ws_dir, "train", "--resume", run)
    assert proc.returncode == 0, proc.stderr
    info = ws.runs.record(run).to_dict()
    assert info["status"] == "completed" and info["best"]["metric"] == "mAP"
    assert sorted(ws.runs.collections(run)) == ["clips@1", "test@1"]
    clip_ids = ws.tables.read(ws.resolve("clips"), ["clip_id"])["clip_id"].to_pylist()
    assert sorted(ws.runs.collection(run, "clips@1")["clip_id"].to_pylist()) == sorted(clip_ids)


def test_a_run_held_by_a_live_trainer_reads_running_and_cannot_be_resumed_twice(ws_dir):
    ws = Workspace.open(ws_dir)
    run = ws.runs.create()
    inputs = {"dataset": "nexar", "table": "clips", "revision": 1, "ref": "nexar/clips@1", "fingerprint": "x"}
    ws.runs.write_file(run, "run.json", json.dumps({"run": run, "status": "running", "config": {},
                                                     "inputs": inputs}).encode())
    assert ws.runs.record(run).status == "killed"  # recorded as running, and nobody holds it
    with ws.runs.owned(run):  # as a trainer in another process would
        assert ws.runs.record(run).status == "running"
        line = assert_one_line_error(curate("-w", ws_dir, "train", "--resume", run), f"{run} is being trained by")
        assert f"pid {os.getpid()} on {socket.gethostname()}" in line
    assert ws.runs.record(run).status == "killed" and ws.runs.owner(run) is None


def _unreadable(ws_own_data, videos: int) -> list[str]:
    """Make the clips of `videos` train videos unreadable: frames gone from the cache, source folder gone."""
    from curation.frames.cache import FrameCache

    ws_dir, data = ws_own_data
    ws = Workspace.open(ws_dir)
    clips = ws.tables.read(ws.resolve("clips"), ["video_id", "split"]).to_pylist()
    victims = sorted({c["video_id"] for c in clips if c["split"] == "train"})[:videos]
    FrameCache(ws.cache("nexar").root).forget(victims)
    shutil.rmtree(data)
    return victims


def test_too_many_unreadable_clips_stop_the_run_with_one_line_naming_them(ws_own_data):
    ws_dir = ws_own_data[0]
    victims = _unreadable(ws_own_data, 5)
    proc = curate("-w", ws_dir, *TRAIN, "--epochs", "1", "--workers", "0", "--draws", "16",
                  "--max-skip-fraction", "0.01")
    line = assert_one_line_error(proc, "could not be read")
    assert any(v in line for v in victims) and "not in the cache" in line
    runs = Workspace.open(ws_dir).runs
    info = runs.record(runs.resolve("last")).to_dict()
    assert info["status"] == "failed" and info["skipped_clips"]
    assert {c.split(":")[0] for c, _ in info["skipped_clips"]} <= set(victims)


def test_a_few_unreadable_clips_are_skipped_and_listed(ws_own_data):
    ws_dir = ws_own_data[0]
    victims = _unreadable(ws_own_data, 1)
    proc = curate("-w", ws_dir, *TRAIN, "--epochs", "1", "--workers", "0", "--draws", "64",
                  "--max-skip-fraction", "0.9")
    assert proc.returncode == 0, proc.stderr
    runs = Workspace.open(ws_dir).runs
    info = runs.record(runs.resolve("last")).to_dict()
    skipped = {c for c, _ in info["skipped_clips"]}
    assert skipped and {c.split(":")[0] for c in skipped} == set(victims)
    assert info["epochs"][0]["skipped"] == len(info["skipped_clips"]) and info["status"] == "completed"


def test_a_failing_transform_is_a_bug_not_bad_data(prebuilt):
    from curation.data.dataset import ClipDataset
    from curation.data.transforms import get_preset

    ws = Workspace.open(prebuilt / "ws")

    class Broken:
        def __call__(self, frames):
            raise TypeError("a bug in a transform")

    ds = ClipDataset.from_revision(ws, ws.resolve("clips"), get_preset("eval", size=32))
    assert "video" in ds[0]
    ds.transform = Broken()
    with pytest.raises(TypeError, match="a bug"):
        ds[0]


DIES_AT_ITEM_3 = """
import os, signal
from torch.utils.data import DataLoader
from curation.cli import cli_message
from curation.data.dataset import _named_worker_deaths
from curation.errors import OutOfMemory

class DiesAtItem3:  # its loader worker is killed at item 3, as the out-of-memory killer kills one
    def __len__(self):
        return 8
    def __getitem__(self, i):
        if i == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return i

try:
    list(_named_worker_deaths(DataLoader(DiesAtItem3(), batch_size=1, num_workers=2)))
except OutOfMemory as refused:
    print(cli_message(refused))
"""


@pytest.mark.slow
def test_a_loader_worker_killed_as_by_the_out_of_memory_killer_is_one_line():
    """A fresh process: torch's real worker-death error, which the loader turns into one line with the fix."""
    proc = subprocess.run([sys.executable, "-c", DIES_AT_ITEM_3], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("a data loader worker died (DataLoader worker (pid")
    assert proc.stdout.strip().endswith("most likely the machine ran out of memory — use --workers 1")


def test_a_batch_that_cannot_fit_is_refused_with_the_batch_that_fits(ws_dir, monkeypatch):
    """MViTv2-S takes about 2 GB a clip to train on a CPU (bench/train_memory.py): on a 4 GB machine one clip
    fits, on a 2 GB one none does; the tiny model fits either. Nothing is written. The estimate says which precision
    it assumes."""
    import curation.train.fit as fit

    before = snapshot(ws_dir)
    for free, fix in ((4000.0, "use --batch-size 1"), (2000.0, "use --model mvit_tiny")):
        monkeypatch.setattr(fit, "available_mb", lambda device: free)
        line = assert_one_line_error(curate("-w", ws_dir, "train", "--smoke", "--weights", "none", "--workers",
                                            "0"), "mvit_v2_s at batch size 16 needs about 31.")
        assert line.endswith(f"{free / 1024:.1f} GB free — {fix}")
        assert "(float32, as trained on the CPU)" in line  # the precision the estimate assumes
    assert snapshot(ws_dir) == before
    smoke = curate("-w", ws_dir, "train", "--smoke", "--model", "mvit_tiny", "--weights", "none", "--workers", "0",
                   "--batch-size", "4")
    assert smoke.returncode == 0, smoke.stderr
