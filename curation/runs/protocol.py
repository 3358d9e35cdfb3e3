"""The run-store protocol: what training, review and submission need from wherever runs are kept.

Both backends keep a run's files in `<workspace>/runs/<run>/` (checkpoints, run.json, per-sample Parquet,
plots), which is what curate reads back; the 3lc backend also writes each run to 3LC as it goes (parameters,
per-epoch values, per-sample metrics tables joined to the exact table revision) for the 3LC Dashboard.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import pyarrow as pa


@runtime_checkable
class RunStore(Protocol):
    def runs(self) -> list[str]:
        """Run ids, oldest first."""

    def resolve(self, ref: str) -> str:
        """`last`, a run id, its number or its name → the run id (NotFound otherwise)."""

    def create(self, name: str | None = None) -> str:
        """Claim a new run id."""

    def dir(self, run: str) -> Path:
        """The run's local folder (checkpoints, plots, reports)."""

    def info(self, run: str) -> dict:
        """run.json: config, resolved inputs, status, per-epoch summary, checkpoints."""

    def write_info(self, run: str, info: dict) -> None:
        """Replace run.json; called at start, after every epoch and at the end."""

    def write_dynamics(self, run: str, epoch: int, table: pa.Table) -> None:
        """One row per drawn sample of `epoch` (clip_id, loss, prob, margin, …); replaces a redone epoch."""

    def dynamics(self, run: str) -> pa.Table | None:
        """All epochs' dynamics, or None before the first epoch ends."""

    def write_collection(self, run: str, name: str, table: pa.Table) -> None:
        """An eval pass over a table revision, named `<table>@<revision>[-tag]`."""

    def collections(self, run: str) -> list[str]:
        ...

    def collection(self, run: str, name: str) -> pa.Table:
        ...

    def plot_path(self, run: str, name: str) -> Path:
        ...
