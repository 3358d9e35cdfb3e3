"""Edit requests applied, whatever they ask: deletes, weights and relabels as one new revision of the table they
were made against, and retimes (a video's labelled time moved) by re-deriving the dataset with the moves — the
one path `curate edit --from` and the dashboard's commit share. Every retime is checked before anything is
written, so a bad one leaves the table's edit uncommitted too."""
from __future__ import annotations

from dataclasses import dataclass

from curation.ingest.pipeline import IngestResult
from curation.ingest.retime import check_moves, retime
from curation.tables.commit import Committed, commit_edit
from curation.tables.requests import edit_from_requests, split_retimes


@dataclass
class Applied:
    committed: Committed | None  # the table's own edit, when the requests held deletes, weights or labels
    retimed: IngestResult | None  # the re-derived revisions, when they held retimes
    head: object  # the table's head Revision after both
    moved: int = 0  # labelled times moved
    videos_moved: int = 0


def apply_requests(ws, base, rows: list[dict], message: str, rebase: bool = False,
                   workers: int | None = None, author: str | None = None) -> Applied:
    """Checked edit requests (edit-file rows) made against revision `base`: the table's edit first (refused as a
    Conflict when the head has moved past `base`, unless `rebase`), then the retimes. `workers`: the re-derive's
    worker processes (default one per core); `author`: who made it (default: this process's user)."""
    rows, moves = split_retimes(rows)
    edit = edit_from_requests(ws.tables, base, rows) if rows else None
    if moves:
        check_moves(ws, base.dataset, moves)
    committed = commit_edit(ws.tables, base, edit, message, rebase, author) if edit is not None else None
    retimed = retime(ws, base.dataset, moves, message, workers=workers) if moves else None
    return Applied(committed, retimed, ws.tables.head(base.dataset, base.table), sum(map(len, moves.values())),
                   len(moves))
