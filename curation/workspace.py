"""Where a workspace's tables, runs and frame cache live, which backend it uses, its current dataset."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from curation.backends import open_runs, open_store
from curation.errors import Fix, NotFound
from curation.fsutil import atomic_write_json, read_json
from curation.runs.protocol import RunStore
from curation.tables.protocol import Revision, TableStore
from curation.tables.refs import TableRef, resolve
from curation.task import Task, task_of

CONFIG_NAME = "curate.json"


def frame_cache_dir(root: Path, dataset: str) -> Path:
    """Where a workspace keeps a dataset's frame cache."""
    return Path(root) / "cache" / dataset

DEFAULT_BACKEND = "lance"


@dataclass
class Workspace:
    """A directory holding `tables/`, `runs/`, `cache/` and `curate.json` (backend, current dataset)."""

    root: Path
    backend: str = DEFAULT_BACKEND
    dataset: str | None = None
    _store: TableStore | None = field(default=None, repr=False)
    _runs: RunStore | None = field(default=None, repr=False)

    @classmethod
    def open(cls, root: str | Path | None = None, backend: str | None = None) -> "Workspace":
        """Root: argument, else $CURATE_WORKSPACE, else the current directory.
        Backend: argument, else $CURATE_BACKEND, else curate.json, else lance."""
        root = Path(root or os.environ.get("CURATE_WORKSPACE") or ".").resolve()
        config = read_json(root / CONFIG_NAME) if (root / CONFIG_NAME).exists() else {}
        chosen = backend or os.environ.get("CURATE_BACKEND") or config.get("backend") or DEFAULT_BACKEND
        return cls(root=root, backend=chosen, dataset=config.get("dataset"))

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

    def cache_dir(self, dataset: str) -> Path:
        return frame_cache_dir(self.root, dataset)

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
        path = self.root / CONFIG_NAME
        config = read_json(path) if path.exists() else {}
        config.update({"dataset": dataset, "backend": config.get("backend", self.backend)})
        atomic_write_json(path, config)
