"""The local run store: `runs/<run>/` with run.json, checkpoints, per-sample metric tables and plots.

  run.json                      config, resolved inputs (table, revision, fingerprint), versions, status,
                                checkpoint sha256s, per-epoch summary, inference ms per clip
  last.pt, best.pt              model, optimizer, scheduler, sampler state, epoch
  dynamics/epoch_NNNN.parquet   one row per drawn sample of that epoch, from the training forward pass
  collect/<name>.parquet        eval-mode pass over a table: prob, loss, embedding (float16), 2-D map
  plots/*.png, report.html, events-*.html
  claimed                       written first: its exclusive create claims the run's number
  owner.lock                    held by the process training the run (storage.hold); names it (pid, host, start)

The folder is `<workspace>/runs/` on disk or that prefix in a bucket: every file goes through the workspace's
storage and is written whole (temp file + rename, or one PUT), so a run killed mid-epoch leaves only complete
epochs, and redoing an epoch replaces its file instead of adding rows.
"""
from __future__ import annotations

import contextlib
import copy
import io
import os
import re
import socket
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curation.errors import BadInput, Conflict, Fix, NotFound
from curation.fsutil import json_bytes
from curation.runs.record import RunRecord
from curation.storage import Held, Storage, as_storage, read_json, write_json
from curation.tables.refs import MAX_NAME

_RUN_ID = re.compile(r"^run-(\d{4,})(?:-[A-Za-z0-9_.-]+)?$")
OWNER = "owner.lock"
CLAIM = "claimed"


def _parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _parquet_table(data: bytes) -> pa.Table:
    return pq.read_table(pa.BufferReader(data))


def embedding_matrix(collection: pa.Table) -> np.ndarray:
    """A collection's `embedding` column (fixed-size float16 lists) as a (rows, dim) float32 matrix."""
    column = collection["embedding"]
    dim = column.type.list_size
    flat = column.combine_chunks().flatten().to_numpy(zero_copy_only=False)
    return np.asarray(flat, dtype=np.float32).reshape(collection.num_rows, dim)


def draws_per_clip(dynamics: pa.Table) -> pa.Table:
    """One epoch's dynamics (a row per draw) as a row per clip: clip_id, mean loss, prob and margin, draws."""
    per_clip = dynamics.group_by("clip_id").aggregate([("loss", "mean"), ("prob", "mean"), ("margin", "mean"),
                                                       ("clip_id", "count")])
    return per_clip.rename_columns(["clip_id", "loss", "prob", "margin", "draws"])


class LocalRunStore:
    def __init__(self, root: Storage | str | Path):
        self.storage = as_storage(root)  # a folder, or a bucket's prefix
        self._read: dict[str, tuple[tuple, dict]] = {}  # run → (version, run.json parsed): read once per change

    def runs(self) -> list[str]:
        """Run ids, oldest first."""
        found = [(int(m[1]), name) for name in self.storage.list("") if (m := _RUN_ID.match(name))
                 and self.storage.exists(f"{name}/run.json")]
        return [name for _, name in sorted(found)]

    def resolve(self, ref: str) -> str:
        """`last`, a full run id, its number (`3`), or its name (`round2` for run-0007-round2)."""
        runs = self.runs()
        if not runs:
            raise NotFound("no runs in this workspace", Fix("train one first", "train_first"))
        if ref in ("last", "latest"):
            return runs[-1]
        if ref in runs:
            return ref
        matches = [r for r in runs if ref.isdigit() and int(_RUN_ID.match(r)[1]) == int(ref)]
        matches = matches or [r for r in runs if r.startswith(ref) or r.endswith(f"-{ref}")]
        if len(matches) != 1:
            raise NotFound(f"unknown run {ref!r} (runs: {', '.join(runs[-5:])})",
                           Fix("list the runs to pick one", "list_runs"))
        return matches[0]

    def create(self, name: str | None = None) -> str:
        """A new run, numbered after the last one."""
        if name and (not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or len(name) > MAX_NAME):
            raise BadInput(f"invalid run name {name[:MAX_NAME]!r}",
                           f"use letters, digits, '_', '-', '.' (at most {MAX_NAME})")
        numbers = [int(m[1]) for n in self.storage.list("") if (m := _RUN_ID.match(n))]
        number = max(numbers, default=0) + 1
        claim = json_bytes({"pid": os.getpid(), "host": socket.gethostname()})
        while True:  # the exclusive create is the claim of a number, between processes and machines
            run = f"run-{number:04d}" + (f"-{name}" if name else "")
            try:
                self.storage.create_exclusive(f"{run}/{CLAIM}", claim)
                return run
            except FileExistsError:
                number += 1

    def discard(self, run: str) -> None:
        """Forget a run that never started (no run.json yet): its claim and lock go, and with them its folder."""
        if not self.storage.exists(f"{run}/run.json"):
            self.storage.delete(f"{run}/{OWNER}")
            self.storage.delete(f"{run}/{CLAIM}")

    def uri(self, run: str, name: str = "") -> str:
        """Where a run (or one of its files) is, in words a user can open: a path or an object URL."""
        return self.storage.uri(f"{run}/{name}" if name else run)

    def version(self, run: str) -> tuple:
        """What changes whenever the run writes anything (run.json is rewritten whole after every epoch,
        collection and evaluation): a key for caches of what is computed from the run. () when it has none."""
        return self.storage.version(f"{run}/run.json")

    def record(self, run: str) -> RunRecord:
        """The run's record; a run recorded as running whose trainer is gone (killed, out of memory, the machine
        restarted) reads as "killed"."""
        version = self.version(run)
        if not version:
            raise NotFound(f"run {run} has no run.json", "it may still be starting; or pick another run")
        if self._read.get(run, ((),))[0] != version:
            self._read[run] = version, read_json(self.storage, f"{run}/run.json")
        record = RunRecord.from_dict(copy.deepcopy(self._read[run][1]), f"run {run}")  # callers change theirs
        if record.status == "running" and self.owner(run) is None:
            record.status = "killed"
        return record

    @contextlib.contextmanager
    def owned(self, run: str):
        """Hold the run while training it: owner.lock held (released however the process ends), naming who holds
        it, for whoever finds it taken."""
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(self.storage.hold(f"{run}/{OWNER}", holder))
            except Held:
                raise self.taken(run) from None
            yield

    def taken(self, run: str) -> Conflict:
        return Conflict(f"run {run} is being trained by {self.owner(run) or 'another process'}",
                        "wait for it to end, or stop that process first")

    def owner(self, run: str) -> str | None:
        """Who trains the run now ("pid 812 on host-a since …"), or None when no live process holds it."""
        holder = self.storage.holder(f"{run}/{OWNER}")
        if holder is None:
            return None
        try:
            return f"pid {holder['pid']} on {holder['host']} since {holder['started']}"
        except KeyError:
            return "another process"

    def write_record(self, run: str, record: RunRecord) -> None:
        record.updated = datetime.now(timezone.utc).isoformat(timespec="seconds")
        write_json(self.storage, f"{run}/run.json", record.to_dict())

    def files(self, run: str, folder: str) -> list[str]:
        """Names of the run's files in `folder` (its plots)."""
        return self.storage.list(f"{run}/{folder}")

    def write_file(self, run: str, name: str, data: bytes) -> None:
        """A file of the run (a checkpoint), written whole."""
        self.storage.write_bytes(f"{run}/{name}", data)

    def read_file(self, run: str, name: str) -> bytes | None:
        """A file of the run, or None when it has none."""
        try:
            return self.storage.read_bytes(f"{run}/{name}")
        except FileNotFoundError:
            return None

    def write_dynamics(self, run: str, epoch: int, table: pa.Table) -> None:
        self.storage.write_bytes(f"{run}/dynamics/epoch_{epoch:04d}.parquet", _parquet_bytes(table))

    def dynamics(self, run: str) -> pa.Table | None:
        files = [n for n in self.storage.list(f"{run}/dynamics") if n.startswith("epoch_") and n.endswith(".parquet")]
        tables = [_parquet_table(self.storage.read_bytes(f"{run}/dynamics/{n}")) for n in files]
        return pa.concat_tables(tables) if tables else None

    def write_collection(self, run: str, name: str, table: pa.Table) -> None:
        from curation.runs.vectors import EXACT_BELOW, index_key, write_index

        key = f"{run}/collect/{name}.parquet"
        self.storage.delete(index_key(key))  # its vector index (runs/vectors.py) is built anew
        self.storage.write_bytes(key, _parquet_bytes(table))
        if table.num_rows >= EXACT_BELOW and "embedding" in table.column_names:
            write_index(self.storage, key, table)  # now, not at the dashboard's first question (1M clips: ~50 s)

    def nearest(self, run: str, name: str, clip_id: str, k: int, keep=None) -> list[tuple[str, float]]:
        """The `k` clips of collection `name` nearest `clip_id` by cosine distance, through its vector index
        (runs/vectors.py); `keep` filters candidates (VectorIndex.nearest)."""
        from curation.runs.vectors import collection_index

        key = f"{run}/collect/{name}.parquet"
        if not self.storage.exists(key):
            self.collection(run, name)  # its NotFound
        return collection_index(self.storage, key).nearest(clip_id, k, keep)

    def write_curves(self, run: str, name: str, table: pa.Table) -> None:
        self.storage.write_bytes(f"{run}/curves/{name}.parquet", _parquet_bytes(table))

    def curves(self, run: str, name: str) -> pa.Table | None:
        data = self.read_file(run, f"curves/{name}.parquet")
        return None if data is None else _parquet_table(data)

    def collections(self, run: str) -> list[str]:
        return [n[:-8] for n in self.storage.list(f"{run}/collect") if n.endswith(".parquet")]

    def collection(self, run: str, name: str) -> pa.Table:
        data = self.read_file(run, f"collect/{name}.parquet")
        if data is None:
            raise NotFound(f"run {run} has no collection {name!r} (has: {', '.join(self.collections(run))})",
                           Fix("run a collection pass of the run over that table first", "collect",
                               {"run": run, "name": name}))
        return _parquet_table(data)
