"""Backend registry: the one place that maps a backend name to its table store and run store.

Each backend is a package of its own: `lance` (the embedded store: tables; its runs are the local run store) and
`tlc` (3LC: client adapter, tables, runs). Nothing outside a backend's package imports it, except this registry.
"""
from __future__ import annotations

from pathlib import Path

from curation.errors import BadInput
from curation.runs.protocol import RunStore
from curation.tables.protocol import TableStore


def _lance_tables(workspace_root: Path) -> TableStore:
    from curation.backends.lance.tables import LanceTableStore

    return LanceTableStore(workspace_root / "tables")


def _local_runs(workspace_root: Path, tables: TableStore) -> RunStore:
    from curation.runs.store import LocalRunStore

    return LocalRunStore(workspace_root / "runs")


def _tlc_tables(workspace_root: Path) -> TableStore:
    from curation.backends.tlc.tables import open_tlc_store  # imports tlc (through its client); only here

    return open_tlc_store(workspace_root)


def _tlc_runs(workspace_root: Path, tables: TableStore) -> RunStore:
    from curation.backends.tlc.runs import TlcRunStore

    return TlcRunStore(workspace_root / "runs", tables)


BACKENDS = {"lance": (_lance_tables, _local_runs), "3lc": (_tlc_tables, _tlc_runs)}


def _check(backend: str) -> None:
    if backend not in BACKENDS:
        raise BadInput(f"unknown backend {backend!r}", f"choose one of: {', '.join(BACKENDS)}")


def open_store(backend: str, workspace_root: Path) -> TableStore:
    _check(backend)
    return BACKENDS[backend][0](Path(workspace_root))


def open_runs(backend: str, workspace_root: Path, tables: TableStore) -> RunStore:
    """The run store of `backend`; `tables` is that backend's table store (3LC runs join to its revisions)."""
    _check(backend)
    return BACKENDS[backend][1](Path(workspace_root), tables)
