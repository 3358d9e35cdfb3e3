"""Backend registry: the one place that maps a backend name to a TableStore implementation."""
from __future__ import annotations

from pathlib import Path

from curation.errors import BadInput
from curation.tables.protocol import TableStore


def _lance(workspace_root: Path) -> TableStore:
    from curation.tables.lance_store import LanceTableStore

    return LanceTableStore(workspace_root / "tables")


def _tlc(workspace_root: Path) -> TableStore:
    from curation.tables.tlc_store import open_tlc_store  # imports tlc; only ever here

    return open_tlc_store(workspace_root)


BACKENDS = {"lance": _lance, "3lc": _tlc}


def open_store(backend: str, workspace_root: Path) -> TableStore:
    if backend not in BACKENDS:
        raise BadInput(f"unknown backend {backend!r}", f"choose one of: {', '.join(BACKENDS)}")
    return BACKENDS[backend](Path(workspace_root))
