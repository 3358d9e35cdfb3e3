"""Backend registry: the one place that maps a backend name to its table store and run store.

Each backend is a package of its own: `lance` (the embedded store: tables; its runs are the run store of curate's
own files) and `tlc` (3LC: client adapter, tables, runs). Nothing outside a backend's package imports it, except
this registry.
"""
from __future__ import annotations

from pathlib import Path

from curation.errors import BadInput
from curation.runs.protocol import RunStore
from curation.storage import is_remote, open_storage
from curation.tables.protocol import TableStore


def _lance_tables(workspace_root) -> TableStore:
    from curation.backends.lance.tables import LanceTableStore

    return LanceTableStore(open_storage(workspace_root).sub("tables"))  # a folder, or a bucket's prefix


def _local_runs(workspace_root, tables: TableStore) -> RunStore:
    from curation.runs.store import LocalRunStore

    return LocalRunStore(open_storage(workspace_root).sub("runs"))  # a folder, or a bucket's prefix


def _tlc_tables(workspace_root: Path) -> TableStore:
    from curation.backends.tlc.tables import open_tlc_store  # imports tlc (through its client); only here

    return open_tlc_store(Path(workspace_root))


def _tlc_runs(workspace_root: Path, tables: TableStore) -> RunStore:
    from curation.backends.tlc.runs import TlcRunStore

    return TlcRunStore(Path(workspace_root) / "runs", tables)


BACKENDS = {"lance": (_lance_tables, _local_runs), "3lc": (_tlc_tables, _tlc_runs)}


def _check(backend: str, workspace_root) -> None:
    if backend not in BACKENDS:
        raise BadInput(f"unknown backend {backend!r}", f"choose one of: {', '.join(BACKENDS)}")
    if backend != "lance" and is_remote(workspace_root):
        raise BadInput(f"the {backend} backend keeps its registry in a folder, not in {workspace_root}",
                       "use the lance backend for a workspace in a bucket")


def open_store(backend: str, workspace_root: Path | str) -> TableStore:
    """The table store of `backend` in a workspace folder (a Path) or bucket prefix (an s3:// URI)."""
    _check(backend, workspace_root)
    return BACKENDS[backend][0](workspace_root)


def open_runs(backend: str, workspace_root: Path | str, tables: TableStore) -> RunStore:
    """The run store of `backend`; `tables` is that backend's table store (3LC runs join to its revisions)."""
    _check(backend, workspace_root)
    return BACKENDS[backend][1](workspace_root, tables)
