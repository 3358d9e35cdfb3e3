"""Killed writers and concurrent writers: no half revision, no lost update."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from conftest import SPEC, make_clips
from curation.tables.content import fingerprint

WRITER = str(Path(__file__).with_name("writer_proc.py"))


def start_writer(root, who, count, fault=""):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "CURATE_FAULT": fault}
    return subprocess.Popen([sys.executable, WRITER, str(root), who, str(count)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def check_all_revisions_complete(store):
    revs = store.revisions("ds", "clips")
    assert [r.number for r in revs] == list(range(1, len(revs) + 1))
    for rev in revs:
        table = store.read(rev)
        assert table.num_rows == rev.rows
        assert fingerprint(table, SPEC) == rev.fingerprint
    return revs


@pytest.mark.parametrize("point", ["lance.between_commits", "registry.before_marker", "fsutil.before_link"])
@pytest.mark.slow
def test_a_writer_killed_inside_the_commit_window_leaves_the_previous_revision(store, point):
    """Killed after Lance moved but before the marker: readers keep the last marker's revision, and the next
    writer rolls Lance back before its own edit."""
    store.create(SPEC, make_clips(200), message="init")
    proc = start_writer(store.root, "killer", 5, fault=f"{point}@3")
    committed = proc.stdout.read().split()
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and committed == ["2", "3"]  # killed inside its third edit
    before = check_all_revisions_complete(store)
    assert [r.number for r in before] == [1, 2, 3] and store.read(before[-1]).num_rows == before[-1].rows
    left = list(store.root.rglob("revisions/.*.tmp"))
    assert bool(left) == (point == "fsutil.before_link")  # only a kill inside the marker write leaves one
    done = start_writer(store.root, "killer", 1)
    assert done.communicate(timeout=300)[0].split() == ["4"] and done.returncode == 0
    after = check_all_revisions_complete(store)
    assert len(after) == 4 and after[-1].rows == before[-1].rows - 1  # one deletion on top of revision 3
    assert not list((store.root).rglob("revisions/.*.tmp"))  # the killed marker write's temp file is swept


def two_writers_at_once(store, edits: int) -> None:
    """Writers a and b each weight `edits` of their own ids, one revision an edit, at the same time: every
    revision is complete and the head has every weight."""
    ids = [f"{who}{k:03d}" for who in "ab" for k in range(edits)]
    n = len(ids)
    table = pa.table({"clip_id": ids, "video_id": ["v"] * n, "label": pa.array([0] * n, pa.int32()),
                      "weight": pa.array([1.0] * n, pa.float32()), "end_frame": pa.array(range(n), pa.int32())})
    store.create(SPEC, table, message="init")
    writers = [start_writer(store.root, who, edits) for who in ("a", "b")]
    for w in writers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
    revs = check_all_revisions_complete(store)
    assert len(revs) == n + 1
    head = {r["clip_id"]: r["weight"] for r in store.read(revs[-1]).to_pylist()}
    assert all(head[i] == 0.5 for i in ids)


@pytest.mark.slow
def test_two_writers_at_once_lose_no_update(store):
    two_writers_at_once(store, 15)


@pytest.mark.slow
def test_two_cli_writers_on_disjoint_ids_of_a_bare_table_name_never_conflict(ws_dir):
    """`curate edit clips ...` bases the edit on the head it read; when another writer moved the head
    meanwhile without touching this edit's ids, the edit applies on the new head (and records that)."""
    from concurrent.futures import ThreadPoolExecutor

    from conftest import curate_subprocess
    from curation.workspace import Workspace

    ws = Workspace.open(ws_dir)
    ids = sorted(ws.tables.read(ws.resolve("clips"), ["clip_id"])["clip_id"].to_pylist())[:12]

    def writer(mine):
        return [curate_subprocess("-w", ws_dir, "edit", "clips", "--weight", "0.5", "--ids", i, "-m", f"w {i}")
                for i in mine]

    with ThreadPoolExecutor(2) as pool:
        results = [p for batch in pool.map(writer, (ids[0::2], ids[1::2])) for p in batch]
    assert all(p.returncode == 0 for p in results), [p.stderr for p in results if p.returncode]
    head = ws.resolve("clips")
    assert head.number == 13
    weights = {r["clip_id"]: r["weight"] for r in ws.tables.read(head).to_pylist()}
    assert all(weights[i] == 0.5 for i in ids)
