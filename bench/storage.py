"""A workspace's tables in an S3 bucket against the same on a local disk (issue 46): a commit of an edit of 10,000
rows, and a dashboard samples page (its API: a filtered, sorted page of 100 rows of the revision), each as a ratio
bucket / disk measured in the same run.

The bucket is moto's S3 server on 127.0.0.1 (started here): a real HTTP S3 API, but a Python server in this
process's machine, so the ratio says what the protocol and round trips cost, not what AWS or MinIO would.

    uv run python bench/storage.py [--rows 100000] [--edit-rows 10000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
from conftest import free_port  # noqa: E402
from revisions import SPEC, clips_table  # noqa: E402


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(root, rows: int, edit_rows: int, repeat: int) -> dict:
    """Median seconds of an edit commit and of a samples page, on a workspace at `root`."""
    from starlette.testclient import TestClient

    from curation.dashboard.api import create_app
    from curation.dashboard.security import Access
    from curation.tables import Edit
    from curation.workspace import Workspace

    ws = Workspace.open(root)
    ws.tables.create(SPEC, clips_table(rows), message="bench")
    ws.set_dataset(SPEC.dataset)
    ids = ws.tables.read(ws.tables.head(SPEC.dataset, SPEC.name), ["clip_id"])["clip_id"].to_pylist()
    rng = np.random.default_rng(0)
    edits = iter(range(1, 1000))

    def commit():
        chosen = rng.choice(len(ids), edit_rows, replace=False)
        value = next(edits) / 1000
        ws.tables.edit(SPEC.dataset, SPEC.name, Edit(weights={ids[i]: value for i in chosen}), message="bench")

    http = TestClient(create_app(ws, Access("127.0.0.1", 5016, allow=("testserver",))))
    params = {"table": f"{SPEC.dataset}/{SPEC.name}", "where": "label == 1 and weight > 0", "sort": "end_time_s",
              "desc": "1", "offset": "500", "limit": "100"}

    def page():
        answer = http.get("/api/samples", params=params)
        assert answer.status_code == 200 and len(answer.json()["rows"]) == 100, answer.text[:300]

    return {"edit": timed(commit, repeat), "page": timed(page, repeat)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--edit-rows", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="bench",
                      AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1", AWS_ALLOW_HTTP="true")
    boto3.client("s3").create_bucket(Bucket="curate-bench")
    try:
        with tempfile.TemporaryDirectory() as folder:
            disk = measure(Path(folder) / "ws", args.rows, args.edit_rows, args.repeat)
        bucket = measure("s3://curate-bench/ws", args.rows, args.edit_rows, args.repeat)
    finally:
        server.stop()
    print(f"{args.rows:,}-row clips table; median of {args.repeat}; bucket: moto's S3 server on 127.0.0.1")
    for what, label in (("edit", f"commit of an edit of {args.edit_rows:,} rows"),
                        ("page", "dashboard samples page (filter, sort, 100 rows)")):
        print(f"{label:<48} disk {disk[what] * 1000:7.0f} ms   bucket {bucket[what] * 1000:7.0f} ms   "
              f"→ {bucket[what] / disk[what]:.1f}x")


if __name__ == "__main__":
    main()
