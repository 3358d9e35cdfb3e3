"""One edit committed as one revision: what `curate edit` and the dashboard both do with a change set."""
from __future__ import annotations

from dataclasses import dataclass

from curation.tables.content import touched_in_split
from curation.tables.protocol import Edit, Revision


@dataclass(frozen=True)
class Committed:
    revision: Revision  # the new head, or the unchanged head when the edit changes nothing
    changed: bool
    val_touched: int  # val rows the edit changed: runs trained before and after are no longer scored alike


def commit_edit(store, base: Revision, edit: Edit, message: str, rebase: bool = False) -> Committed:
    """Apply `edit`, made against revision `base`, as one new revision of its table. The store refuses it (a
    Conflict) when the head has moved past `base`, unless `rebase`."""
    head_before = store.head(base.dataset, base.table)
    new = store.edit(base.dataset, base.table, edit, message=message, base=base.number, rebase=rebase)
    changed = new.number != head_before.number
    id_column = store.spec(base.dataset, base.table).id_column
    return Committed(new, changed, touched_in_split(store.read(base), edit, id_column) if changed else 0)
