"""Where a workspace's files live, on a local disk and in a real S3-compatible server (moto's, on 127.0.0.1):
whole writes, create-if-absent, folders listed, locks that serialise writers and free themselves when their holder
dies (at once on a disk, when the lease runs out in a bucket), and one-line errors for a missing bucket."""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from curation.errors import BadInput, NotFound
from curation.storage import Held, LocalStorage, create_json_exclusive, open_storage, read_json, write_json

pytestmark = pytest.mark.slow  # object storage


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "ws")
    return open_storage(request.getfixturevalue("s3_bucket") + "/team/ws")


def test_files_are_written_whole_created_once_listed_and_deleted(storage):
    write_json(storage, "tables/ds/clips/table.json", {"name": "clips"})
    storage.write_bytes("tables/ds/videos/table.json", b"{}")
    storage.write_bytes("runs/run-0001/run.json", b"{}")
    assert read_json(storage, "tables/ds/clips/table.json") == {"name": "clips"}
    assert storage.list("tables/ds") == ["clips", "videos"] and storage.list("") == ["runs", "tables"]
    assert storage.list("nowhere") == []
    create_json_exclusive(storage, "tables/ds/clips/revisions/000001.json", {"number": 1})
    with pytest.raises(FileExistsError):
        create_json_exclusive(storage, "tables/ds/clips/revisions/000001.json", {"number": "another"})
    assert read_json(storage, "tables/ds/clips/revisions/000001.json") == {"number": 1}
    storage.delete("runs/run-0001/run.json")
    assert not storage.exists("runs/run-0001/run.json") and storage.exists("tables/ds/videos/table.json")
    with pytest.raises(NotFound, match="there is no file"):
        read_json(storage, "runs/run-0001/run.json")
    storage.write_bytes("broken.json", b"{not json")
    with pytest.raises(BadInput, match="is not valid JSON"):
        read_json(storage, "broken.json")


def test_a_lock_serialises_writers_and_a_hold_names_its_holder(storage):
    storage.write_bytes("count", b"0")

    def add():
        for _ in range(5):
            with storage.lock("tables/ds/clips/.lock"):
                n = int(storage.read_bytes("count"))
                time.sleep(0.002)  # a read-modify-write that loses updates unless the lock serialises it
                storage.write_bytes("count", str(n + 1).encode())

    threads = [threading.Thread(target=add) for _ in range(3)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert int(storage.read_bytes("count")) == 15
    with storage.hold("runs/run-0001/owner.lock", {"pid": 4242, "host": "trainer-a"}):
        assert storage.holder("runs/run-0001/owner.lock")["host"] == "trainer-a"
        if isinstance(storage, LocalStorage):
            return  # an OS lock is per process: this process may take it again; a second process is tested below
        with pytest.raises(Held) as taken:
            with storage.hold("runs/run-0001/owner.lock", {"pid": 1}):
                pass
        assert taken.value.holder["pid"] == 4242
    assert storage.holder("runs/run-0001/owner.lock") is None


def test_a_killed_holder_frees_what_it_held(storage, monkeypatch):
    monkeypatch.setenv("CURATE_LEASE_S", "1.5")
    root = storage.uri()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from curation.storage import open_storage
        storage = open_storage({root!r})
        with storage.hold("runs/run-0001/owner.lock", {{"pid": 1, "host": "doomed"}}):
            print("held", flush=True)
            time.sleep(600)
        """)], stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    assert holder.stdout.readline().strip() == "held"
    assert storage.holder("runs/run-0001/owner.lock")["host"] == "doomed"
    with pytest.raises(Held):
        with storage.hold("runs/run-0001/owner.lock", {"pid": 2}):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    killed = time.time()
    while storage.holder("runs/run-0001/owner.lock") is not None:
        assert time.time() - killed < 10, "the dead holder's hold never ended"
        time.sleep(0.1)
    with storage.hold("runs/run-0001/owner.lock", {"pid": 3, "host": "next"}):
        assert storage.holder("runs/run-0001/owner.lock")["host"] == "next"


def test_a_bucket_that_is_not_there_or_a_store_curate_cannot_reach_is_one_line(s3_server):
    with pytest.raises(NotFound, match="there is no bucket no-such-bucket"):
        open_storage("s3://no-such-bucket/ws").read_bytes("curate.json")
    with pytest.raises(BadInput, match="cannot reach yet"):
        open_storage("gs://bucket/ws")


def test_a_workspace_in_a_bucket_keeps_its_tables_and_says_what_it_cannot_keep_there(s3_bucket):
    from conftest import SPEC, curate, make_clips
    from curation.workspace import Workspace

    root = f"{s3_bucket}/team/ws"
    ws = Workspace.open(root)
    ws.tables.create(SPEC, make_clips(30), message="registered")
    ws.set_dataset("ds")
    again = Workspace.open(root + "/")
    assert again.root == root and again.dataset == "ds" and again.resolve("clips").number == 1
    assert "ds/clips" in curate("-w", root, "tables").stdout
    edited = curate("-w", root, "edit", "clips", "--delete", "v000:1", "-m", "from the command line")
    assert edited.returncode == 0, edited.stderr
    head = Workspace.open(root).tables.head("ds", "clips")
    assert head.number == 2 and head.rows == 29 and head.message == "from the command line"
    for args, said in ((["sweep", "--trials", "1"], "cannot live in"),
                       (["--backend", "3lc", "tables"], "keeps its registry in a folder")):
        refused = curate("-w", root, *args)
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr
    assert [t.full_name for t in Workspace.open(root).tables.list_tables()] == ["ds/clips"]  # nothing written
