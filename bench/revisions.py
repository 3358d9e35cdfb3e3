"""Revision costs on a large clips table: resolve `latest`, commit a 10,000-row edit, read one revision.

Baseline in the same run: naive copy-on-write, every revision a full Parquet rewrite of the table.
Goals on the 2-core dev machine: resolve latest < 50 ms, edit < 1 s.

    uv run python bench/revisions.py [--rows 1000000] [--edit-rows 10000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curation.tables import Edit, TableSpec
from curation.backends.lance.tables import LanceTableStore
from curation.tables.refs import resolve

SPEC = TableSpec("bench", "clips", "clips", "clip_id", "label", "weight", ["normal", "collision"])


def clips_table(n: int) -> pa.Table:
    rng = np.random.default_rng(0)
    video = np.arange(n) // 150
    end = (np.arange(n) % 150) * 8 + 120
    ids = pc.binary_join_element_wise(pa.array([f"{v:05d}" for v in video]), pa.array(end.astype(str)), ":")
    return pa.table({
        "clip_id": ids, "video_id": pa.array([f"{v:05d}" for v in video]),
        "split": pa.array(np.where(video % 5 == 0, "val", "train")),
        "fold": pa.array(np.full(n, -1), pa.int32()), "end_frame": pa.array(end, pa.int32()),
        "stride": pa.array(np.full(n, 4), pa.int32()), "n_frames": pa.array(np.full(n, 16), pa.int32()),
        "end_time_s": pa.array(end / 30.0, pa.float32()),
        "label": pa.array(rng.integers(0, 2, n), pa.int32()), "weight": pa.array(np.ones(n), pa.float32()),
    })


def _du(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--edit-rows", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    table = clips_table(args.rows)
    ids = table["clip_id"]
    rng = np.random.default_rng(1)

    with tempfile.TemporaryDirectory() as tmp:
        store = LanceTableStore(Path(tmp) / "tables")
        t = time.perf_counter()
        store.create(SPEC, table, message="init")
        create_s = time.perf_counter() - t
        first_bytes = _du(Path(tmp) / "tables")

        latest_s, _ = timed(lambda: resolve(store, "clips@latest", "bench"), args.repeat * 4)

        def lance_edit(kind):
            alive = store.read(store.head("bench", "clips"), ["clip_id"])["clip_id"]  # deleted ids are gone
            pick = alive.take(pa.array(rng.choice(len(alive), args.edit_rows, replace=False))).to_pylist()
            if kind == "weights":
                edit = Edit(weights={i: 0.25 for i in pick})
            else:  # a mixed edit: 20% deletes, 60% reweights, 20% relabels
                a, b = args.edit_rows // 5, args.edit_rows * 4 // 5
                edit = Edit(delete=set(pick[:a]), weights={i: 0.0 for i in pick[a:b]},
                            labels={i: 1 for i in pick[b:]})
            return lambda: store.edit("bench", "clips", edit, message="bench")

        edit_s = statistics.median(timed(lance_edit("weights"), 1)[0] for _ in range(args.repeat))
        mixed_s = statistics.median(timed(lance_edit("mixed"), 1)[0] for _ in range(args.repeat))
        head = store.head("bench", "clips")
        lance_bytes = _du(Path(tmp) / "tables")
        read_s, got = timed(lambda: store.read(store.revision("bench", "clips", 1),
                                               ["clip_id", "weight", "label"]), args.repeat)
        assert got.num_rows == args.rows

        # Baseline: copy-on-write Parquet, one full file per revision.
        base = Path(tmp) / "naive"
        base.mkdir()
        pq.write_table(table, base / "000001.parquet")

        def naive_latest():
            return max(base.glob("*.parquet"))

        def naive_edit():
            latest = naive_latest()
            current = pq.read_table(latest)
            pick = ids.take(pa.array(rng.choice(args.rows, args.edit_rows, replace=False)))
            mask = pc.is_in(current["clip_id"], value_set=pick)
            weights = pc.if_else(mask, pa.scalar(0.25, pa.float32()), current["weight"])
            out = current.set_column(current.schema.get_field_index("weight"), "weight", weights)
            pq.write_table(out, base / f"{int(latest.stem) + 1:06d}.parquet")

        naive_latest_s, _ = timed(naive_latest, args.repeat * 4)
        naive_edit_s, _ = timed(naive_edit, args.repeat)
        naive_bytes = _du(base)
        naive_revs = len(list(base.glob("*.parquet")))
        naive_read_s, _ = timed(lambda: pq.read_table(base / "000001.parquet",
                                                      columns=["clip_id", "weight", "label"]), args.repeat)

    print(f"clips table: {args.rows:,} rows; edits of {args.edit_rows:,} rows; median of {args.repeat}")
    print(f"create (revision 1)            {create_s * 1000:9.1f} ms")
    print(f"{'':30} {'lance store':>12} {'naive CoW':>12} {'ratio':>8}  goal")
    rows = [("resolve latest", latest_s, naive_latest_s, "< 50 ms"),
            ("commit 10k-row reweight", edit_s, naive_edit_s, "< 1 s"),
            ("commit 10k-row mixed edit", mixed_s, None, "< 1 s"),
            ("read ids+weights+labels @1", read_s, naive_read_s, "")]
    for name, ours, naive, goal in rows:
        ratio = f"{naive / ours:7.2f}x" if naive else "       -"
        naive_text = f"{naive * 1000:9.1f} ms" if naive else "           -"
        print(f"{name:<30} {ours * 1000:9.1f} ms {naive_text} {ratio}  {goal}")
    print(f"head after bench: revision {head.number}, {head.rows:,} rows")
    print(f"disk per revision after the first: lance {(lance_bytes - first_bytes) / (head.number - 1) / 1e6:.2f} MB, "
          f"naive {naive_bytes / naive_revs / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
