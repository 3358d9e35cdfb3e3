"""Dashboard server times on a 1,000,000-row clips table, through the HTTP API (Starlette's test client: the
whole handler, JSON included, without a network): one page of 100 rows, plain and filtered + sorted, and the
commit of a 10,000-row change set as one revision.

Baseline in the same run: the same page with pandas (the table read into a DataFrame, `query`, `sort_values`).
Targets (issue 13): a filtered, sorted page < 300 ms server time; a 10,000-row commit < 1.5 s end to end.

    uv run python bench/dashboard.py [--rows 1000000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from revisions import SPEC, clips_table
from starlette.testclient import TestClient

from curation.dashboard.api import create_app
from curation.dashboard.security import Access
from curation.workspace import Workspace

WHERE, PANDAS_WHERE = "label == 1 and end_time_s > 20", "label == 1 and end_time_s > 20"


def median_ms(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    ws = Workspace.open(Path(tempfile.mkdtemp(prefix="curate-bench-dashboard-")) / "ws", backend="lance")
    ws.tables.create(SPEC, clips_table(args.rows), message="bench")
    ws.set_dataset("bench")
    http = TestClient(create_app(ws, Access("127.0.0.1", 5016, csrf="token", allow=("testserver",))))

    plain_ms, plain = median_ms(lambda: http.get("/api/samples", params={"table": "clips", "limit": 100}).json(),
                                args.repeat)
    params = {"table": "clips", "where": WHERE, "sort": "end_time_s", "desc": "1", "limit": 100}
    page_ms, page = median_ms(lambda: http.get("/api/samples", params=params).json(), args.repeat)

    def pandas_page():
        df = ws.tables.read(ws.resolve("clips")).to_pandas()
        hits = df.query(PANDAS_WHERE)
        ordered = hits.sort_values(["end_time_s", "clip_id"], ascending=[False, True])  # ties in id order, as the API
        return ordered.head(100).to_dict("records"), len(hits)

    pandas_ms, (rows, total) = median_ms(pandas_page, args.repeat)
    assert total == page["total"] and [r["clip_id"] for r in rows] == [r["clip_id"] for r in page["rows"]]

    ids = [r["clip_id"] for r in http.get("/api/samples", params={"table": "clips", "limit": 1000,
                                                                 "offset": 500_000 % args.rows}).json()["rows"]]
    ids += [r["clip_id"] for r in http.get("/api/samples", params={"table": "clips", "where": "label == 0",
                                                                  "limit": 1000}).json()["rows"]]
    while len(ids) < 10_000:  # 10,000 distinct ids spread over the table, 1,000 per page
        offset = len(ids) * 97 % (args.rows - 1000)
        ids += [r["clip_id"] for r in http.get("/api/samples", params={"table": "clips", "limit": 1000,
                                                                      "offset": offset}).json()["rows"]]
        ids = list(dict.fromkeys(ids))
    body = {"table": "clips@1", "message": "bench", "edits": [{"id": i, "action": "weight", "value": 0}
                                                             for i in ids[:10_000]]}
    start = time.perf_counter()
    answer = http.post("/api/edits", json=body, headers={"x-curate-token": "token"})
    commit_ms = 1000 * (time.perf_counter() - start)
    assert answer.status_code == 200 and answer.json()["counts"]["reweighted"] == 10_000, answer.json()

    print(f"{args.rows:,} rows; median of {args.repeat}")
    print(f"page of 100, no filter            {plain_ms:7.0f} ms  ({plain['total']:,} rows)")
    print(f"page of 100, filtered + sorted    {page_ms:7.0f} ms  ({page['total']:,} match)  (goal < 300 ms)")
    print(f"  pandas baseline (read, query)   {pandas_ms:7.0f} ms  the API takes {page_ms / pandas_ms:.2f}x "
          "(it also orders by id and writes JSON)")
    print(f"commit of 10,000 reweighted rows  {commit_ms:7.0f} ms  → {answer.json()['revision']}  (goal < 1500 ms)")


if __name__ == "__main__":
    main()
