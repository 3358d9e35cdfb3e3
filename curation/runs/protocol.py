"""The run-store protocol: what training, review and submission need from wherever runs are kept.

Both backends keep a run's files in `<workspace>/runs/<run>/`, a folder or a bucket's prefix (checkpoints,
run.json, per-sample Parquet, plots), which is what curate reads back; the 3lc backend also writes each run to 3LC
as it goes (parameters, per-epoch values, per-sample metrics tables joined to the exact table revision) for the
3LC Dashboard.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pyarrow as pa

from curation.errors import BadInput


@dataclass(frozen=True)
class CollectionKey:
    """One collection (eval) pass of a run over one table revision, named `[<dataset>+]<table>@<revision>[-<tag>]`
    in files and in 3LC. The final pass (the model at the end of training) has no tag; `epochN` (periodic) and
    `last` (`curate collect --checkpoint last`) repeat it with another model or checkpoint. `dataset` is set only
    for a table of another dataset than the run trained on (a hold-out set, a relabelled copy): its `clips@1` is
    not the run's own `clips@1`."""
    table: str
    revision: int
    tag: str = ""
    dataset: str = ""

    @classmethod
    def of(cls, revision, tag: str = "", *, home: str) -> "CollectionKey":
        """The key of a pass over `revision` by a run that trained on dataset `home`."""
        return cls(revision.table, revision.number, tag, "" if revision.dataset == home else revision.dataset)

    @classmethod
    def parse(cls, name: str) -> "CollectionKey":
        table, at, rest = name.rpartition("@")  # table names may hold '-', revision numbers never do
        number, _, tag = rest.partition("-")
        dataset, _, table = table.rpartition("+")  # dataset and table names never hold '+'
        if not (at and table and number.isdigit()):
            raise BadInput(f"{name!r} is not a collection name", "name one as <table>@<revision>[-<tag>]")
        return cls(table, int(number), tag, dataset)

    def __str__(self) -> str:
        return (f"{self.dataset}+" if self.dataset else "") + f"{self.table}@{self.revision}" + \
            (f"-{self.tag}" if self.tag else "")


@runtime_checkable
class RunStore(Protocol):
    def runs(self) -> list[str]:
        """Run ids, oldest first."""

    def resolve(self, ref: str) -> str:
        """`last`, a run id, its number or its name → the run id (NotFound otherwise)."""

    def create(self, name: str | None = None) -> str:
        """Claim a new run id."""

    def uri(self, run: str, name: str = "") -> str:
        """Where the run (or one of its files) is, for messages: a path or an object URL."""

    def discard(self, run: str) -> None:
        """Forget a claimed run that never started (it has no record)."""

    def version(self, run: str) -> tuple:
        """Changes whenever the run writes: the key for caches of what is computed from it."""

    def record(self, run: str):
        """The RunRecord (run.json): config, resolved inputs, status (a running run whose trainer is gone reads
        "killed"), per-epoch summary, checkpoints."""

    def owned(self, run: str):
        """A context the trainer holds the run in; a second trainer of the run is refused (Conflict)."""

    def owner(self, run: str) -> str | None:
        """Who trains the run now, in words, or None."""

    def taken(self, run: str):
        """The Conflict to raise for a run another trainer holds."""

    def write_record(self, run: str, record) -> None:
        """Replace run.json; called at start, after every epoch and at the end."""

    def write_dynamics(self, run: str, epoch: int, table: pa.Table) -> None:
        """One row per drawn sample of `epoch` (clip_id, loss, prob, margin, …); replaces a redone epoch."""

    def dynamics(self, run: str) -> pa.Table | None:
        """All epochs' dynamics, or None before the first epoch ends."""

    def write_collection(self, run: str, name: str, table: pa.Table) -> None:
        """An eval pass over a table revision, named by its CollectionKey."""

    def nearest(self, run: str, name: str, clip_id: str, k: int, keep=None) -> list[tuple[str, float]]:
        """The k clips of a collection nearest one by cosine distance of their embeddings, from an index."""

    def write_curves(self, run: str, name: str, table: pa.Table) -> None:
        """Whole-video score curves of the run over a table revision (video_id, split, time_s, score)."""

    def curves(self, run: str, name: str) -> pa.Table | None:
        ...

    def collections(self, run: str) -> list[str]:
        ...

    def collection(self, run: str, name: str) -> pa.Table:
        ...

    def write_file(self, run: str, name: str, data: bytes) -> None:
        """A file of the run (a checkpoint), written whole."""

    def read_file(self, run: str, name: str) -> bytes | None:
        """A file of the run, or None when it has none."""

    def files(self, run: str, folder: str) -> list[str]:
        """Names of the run's files in `folder` (its plots)."""
