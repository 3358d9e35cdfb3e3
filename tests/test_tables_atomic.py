"""Killed writers and concurrent writers: no half revision, no lost update."""
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa

from conftest import SPEC, make_clips
from curation.tables.content import fingerprint

WRITER = str(Path(__file__).with_name("writer_proc.py"))


def start_writer(root, who, count):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
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


def test_sigkill_during_repeated_edits_never_leaves_half_revision(store):
    store.create(SPEC, make_clips(2000), message="init")
    rng = random.Random(0)
    kills = 0
    for _ in range(12):
        proc = start_writer(store.root, "killer", 200)
        proc.stdout.readline()  # wait for its first commit, then kill at a random moment
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += proc.returncode == -signal.SIGKILL
        revs = check_all_revisions_complete(store)
        head = store.head("ds", "clips")
        assert head.number == revs[-1].number and store.read(head).num_rows == head.rows
    assert kills >= 10  # the writers really died mid-loop
    assert store.head("ds", "clips").number > 12


def test_two_writers_at_once_lose_no_update(store):
    ids = [f"a{k:03d}" for k in range(15)] + [f"b{k:03d}" for k in range(15)]
    table = pa.table({"clip_id": ids, "video_id": ["v"] * 30, "label": pa.array([0] * 30, pa.int32()),
                      "weight": pa.array([1.0] * 30, pa.float32()), "end_frame": pa.array(range(30), pa.int32())})
    store.create(SPEC, table, message="init")
    writers = [start_writer(store.root, who, 15) for who in ("a", "b")]
    for w in writers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
    revs = check_all_revisions_complete(store)
    assert len(revs) == 31
    head = {r["clip_id"]: r["weight"] for r in store.read(revs[-1]).to_pylist()}
    assert all(head[i] == 0.5 for i in ids)


def test_two_cli_writers_on_disjoint_ids_of_a_bare_table_name_never_conflict(ws_dir):
    """`curate edit clips ...` bases the edit on the head it read; when another writer moved the head
    meanwhile without touching this edit's ids, the edit applies on the new head (and records that)."""
    from concurrent.futures import ThreadPoolExecutor

    from conftest import curate
    from curation.workspace import Workspace

    ws = Workspace.open(ws_dir)
    ids = sorted(ws.tables.read(ws.resolve("clips"), ["clip_id"])["clip_id"].to_pylist())[:12]

    def writer(mine):
        return [curate("-w", ws_dir, "edit", "clips", "--weight", "0.5", "--ids", i, "-m", f"w {i}") for i in mine]

    with ThreadPoolExecutor(2) as pool:
        results = [p for batch in pool.map(writer, (ids[0::2], ids[1::2])) for p in batch]
    assert all(p.returncode == 0 for p in results), [p.stderr for p in results if p.returncode]
    head = ws.resolve("clips")
    assert head.number == 13
    weights = {r["clip_id"]: r["weight"] for r in ws.tables.read(head).to_pylist()}
    assert all(weights[i] == 0.5 for i in ids)
