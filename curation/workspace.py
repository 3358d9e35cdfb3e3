"""Where a workspace's tables, runs and frame cache live, which backend it uses, its current dataset."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from curation.backends import open_runs, open_store
from curation.errors import Fix, NotFound
from curation.runs.protocol import RunStore
from curation.storage import Storage, is_remote, open_storage, read_json, write_json
from curation.tables.protocol import Revision, TableStore
from curation.tables.refs import TableRef, resolve
from curation.task import Task, task_of

CONFIG_NAME = "curate.json"


DEFAULT_BACKEND = "lance"


@dataclass
class Workspace:
    """A directory (or a prefix in an S3 bucket: `s3://bucket/prefix`) holding `tables/`, `runs/`, `cache/` and
    `curate.json` (backend, current dataset)."""

    root: Path | str
    backend: str = DEFAULT_BACKEND
    dataset: str | None = None
    _store: TableStore | None = field(default=None, repr=False)
    _runs: RunStore | None = field(default=None, repr=False)

    @classmethod
    def open(cls, root: str | Path | None = None, backend: str | None = None) -> "Workspace":
        """Root: argument, else $CURATE_WORKSPACE, else the current directory.
        Backend: argument, else $CURATE_BACKEND, else curate.json, else lance."""
        root = root or os.environ.get("CURATE_WORKSPACE") or "."
        root = str(root).rstrip("/") if is_remote(str(root)) else Path(root).resolve()
        storage = open_storage(root)
        config = read_json(storage, CONFIG_NAME) if storage.exists(CONFIG_NAME) else {}
        chosen = backend or os.environ.get("CURATE_BACKEND") or config.get("backend") or DEFAULT_BACKEND
        return cls(root=root, backend=chosen, dataset=config.get("dataset"))

    @property
    def storage(self) -> Storage:
        return open_storage(self.root)

    @property
    def tables(self) -> TableStore:
        if self._store is None:
            self._store = open_store(self.backend, self.root)
        return self._store

    @property
    def runs(self) -> RunStore:
        if self._runs is None:
            self._runs = open_runs(self.backend, self.root, self.tables)
        return self._runs

    def cache(self, dataset: str) -> Storage:
        """Where the workspace keeps a dataset's frame cache (frames/cache.py): `cache/<dataset>/`."""
        return self.storage.sub(f"cache/{dataset}")

    def resolve(self, ref: TableRef | str) -> Revision:
        return resolve(self.tables, ref, self.dataset)

    def task(self, dataset: str | None = None) -> Task:
        """The task of `dataset` (default: the current one, the last ingested)."""
        dataset = dataset or self.dataset
        if not dataset:
            raise NotFound("no dataset in this workspace yet", Fix("ingest one first", "ingest"))
        return task_of(self.tables, dataset)

    def set_dataset(self, dataset: str) -> None:
        """Make `dataset` the one bare table names refer to."""
        self.dataset = dataset
        config = read_json(self.storage, CONFIG_NAME) if self.storage.exists(CONFIG_NAME) else {}
        config.update({"dataset": dataset, "backend": config.get("backend", self.backend)})
        write_json(self.storage, CONFIG_NAME, config)
