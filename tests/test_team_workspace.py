"""A team's workspace in an S3 bucket (moto's server on 127.0.0.1, a real S3 protocol): the whole loop with nothing
of the workspace on a local disk, two curators editing one table at once, a writer killed inside a commit, and the
dashboard serving the bucket."""
import hashlib
import threading

import pytest
from starlette.testclient import TestClient

from conftest import curate, curate_subprocess, tiny_synth
from curation.dashboard.api import create_app
from curation.dashboard.security import Access
from curation.workspace import Workspace

pytestmark = pytest.mark.slow  # object storage

TINY = ["--model", "mvit_tiny", "--weights", "none", "--workers", "0", "--batch-size", "4"]
KILLED = -9


def keys(root: str) -> list[str]:
    """Every object key under a workspace prefix, relative to it."""
    import boto3

    bucket, _, prefix = root.removeprefix("s3://").partition("/")
    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/")
    return [o["Key"][len(prefix) + 1:] for page in pages for o in page.get("Contents", [])]


def test_the_loop_runs_with_the_workspace_in_a_bucket(s3_bucket, tmp_path, monkeypatch):
    """synth → ingest → edit → train --smoke → train → suggest → edit from the suggestions → export, with the
    workspace (tables, frame cache, runs) in the bucket, named by $CURATE_WORKSPACE."""
    root = f"{s3_bucket}/team/ws"
    monkeypatch.setenv("CURATE_WORKSPACE", root)
    monkeypatch.chdir(tmp_path)
    data = tiny_synth(tmp_path / "data", seed=5, n_train=6, n_test=2, n_duplicates=2)
    ingested = curate("ingest", "nexar", data, "--frame-size", "32")
    assert ingested.returncode == 0, ingested.stderr
    ws = Workspace.open()
    assert ws.root == root and ws.cache("nexar").uri() == f"{root}/cache/nexar"
    clips = ws.tables.read(ws.resolve("clips")).sort_by("clip_id")["clip_id"].to_pylist()
    edited = curate("edit", "clips", "--delete", clips[0], "-m", "drop one")
    assert edited.returncode == 0 and "clips@2" in edited.stdout, edited.stderr

    smoke = curate("train", "--smoke", *TINY)
    assert smoke.returncode == 0 and "smoke test passed on nexar/clips@2" in smoke.stdout, smoke.stderr
    trained = curate("train", "--table", "latest", "--epochs", "1", *TINY)
    assert trained.returncode == 0, trained.stderr
    ws = Workspace.open()
    run = ws.runs.resolve("last")
    record = ws.runs.record(run)
    assert record.status == "completed" and record.inputs.ref == "nexar/clips@2"
    for checkpoint in record.checkpoints.values():
        assert hashlib.sha256(ws.runs.read_file(run, checkpoint["file"])).hexdigest() == checkpoint["sha256"]
    stored = keys(root)
    for key in (f"runs/{run}/run.json", f"runs/{run}/best.pt", f"runs/{run}/plots/curves.png",
                f"runs/{run}/collect/clips@2.parquet", f"runs/{run}/dynamics/epoch_0001.parquet",
                "cache/nexar/videos.json", "curate.json"):
        assert key in stored, key
    assert any(k.startswith("cache/nexar/frames.lance/data/") for k in stored)
    assert not (tmp_path / "runs").exists() and not (tmp_path / "cache").exists()  # nothing on this disk

    suggested = curate("suggest", "--run", run, "-o", tmp_path / "edits.csv")
    assert suggested.returncode == 0 and "leak 2" in suggested.stderr, suggested.stderr  # the duplicates
    reviewed = curate("edit", "clips", "--from", tmp_path / "edits.csv", "-m", "review")
    assert reviewed.returncode == 0, reviewed.stderr
    exported = curate("export", "clips@latest", "-o", tmp_path / "clips.json")
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "clips.json").stat().st_size > 0
    report = curate("report", "--run", run)
    assert report.returncode == 0 and f"{root}/runs/{run}/report.html" in report.stdout, report.stderr
    assert b"<h1>" + run.encode() in Workspace.open().runs.read_file(run, "report.html")

    # the dashboard serves the bucket: the table, a run's map, a clip and its frames
    http = TestClient(create_app(Workspace.open(), Access("127.0.0.1", 5016, csrf="t", allow=("testserver",))))
    assert any(t["name"] == "clips" for t in http.get("/api/tables").json()["tables"])
    shown = http.get("/api/map", params={"table": "clips@2", "run": run, "colour": "label"}).json()
    assert set(clips[1:]) <= set(shown["ids"]) and clips[0] not in shown["ids"]
    view = http.get("/api/clip", params={"table": "clips@2", "run": run, "id": clips[1]}).json()
    frame = http.get(f"/api/frames/nexar/{view['frames'][0]}")
    assert frame.status_code == 200 and frame.content[:2] == b"\xff\xd8"  # a JPEG


def test_two_curators_edit_one_table_in_a_bucket_at_once_and_a_killed_commit_leaves_the_last_revision(
        s3_bucket, tmp_path):
    """Two `curate edit` processes at once on one table: both edits are in the head. A third killed (kill -9)
    between Lance's commit and the registry's (the window that needs Lance rolled back; every kill point is run on
    a disk in test_tables_atomic) leaves the previous revision readable and the next edit working, once the dead
    writer's lease on the table's lock runs out."""
    from conftest import SPEC, make_clips
    from curation.tables.content import fingerprint

    root = f"{s3_bucket}/team/ws"
    ws = Workspace.open(root)
    ws.tables.create(SPEC, make_clips(30), message="registered")
    ws.set_dataset("ds")
    ids = sorted(ws.tables.read(ws.resolve("clips"))["clip_id"].to_pylist())
    lease = {"CURATE_LEASE_S": "2"}
    done = []

    def edit(clip_id):
        done.append(curate_subprocess("-w", root, "edit", "clips", "--weight", "0.5", "--ids", clip_id, "-m",
                                      f"weight {clip_id}", env=lease))

    curators = [threading.Thread(target=edit, args=(i,)) for i in ids[:2]]
    [c.start() for c in curators]
    [c.join() for c in curators]
    assert all(p.returncode == 0 for p in done), [p.stderr for p in done]
    head = Workspace.open(root).resolve("clips")
    weights = {r["clip_id"]: r["weight"] for r in Workspace.open(root).tables.read(head).to_pylist()}
    assert head.number == 3 and weights[ids[0]] == weights[ids[1]] == 0.5

    killed = curate_subprocess("-w", root, "edit", "clips", "--delete", ids[2], "-m", "killed",
                               env={**lease, "CURATE_FAULT": "lance.between_commits"})
    assert killed.returncode == KILLED
    after = Workspace.open(root)
    assert after.resolve("clips").number == 3 and after.tables.read(after.resolve("clips")).num_rows == 30
    again = curate_subprocess("-w", root, "edit", "clips", "--delete", ids[2], "-m", "again", env=lease)
    assert again.returncode == 0, again.stderr
    store = Workspace.open(root).tables
    revisions = store.revisions("ds", "clips")
    assert [r.number for r in revisions] == [1, 2, 3, 4] and revisions[-1].rows == 29
    for revision in revisions:  # each complete: its rows and their fingerprint as recorded
        assert fingerprint(store.read(revision), SPEC) == revision.fingerprint
