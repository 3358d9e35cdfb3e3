"""One edit committed as one revision: what `curate edit` and the dashboard both do with a change set."""
from __future__ import annotations

import getpass
from dataclasses import dataclass, replace

from curation.errors import BadInput
from curation.tables.content import touched_in_split
from curation.tables.protocol import Edit, Revision


@dataclass(frozen=True)
class Committed:
    revision: Revision  # the new head, or the unchanged head when the edit changes nothing
    changed: bool
    val_touched: int  # val rows the edit changed: runs trained before and after are no longer scored alike


def commit_edit(store, base: Revision, edit: Edit, message: str, rebase: bool = False,
                author: str | None = None) -> Committed:
    """Apply `edit`, made against revision `base`, as one new revision of its table, recording its `author`
    (default: the user this process runs as). The store refuses it (a Conflict) when the head has moved past
    `base`, unless `rebase`."""
    head_before = store.head(base.dataset, base.table)
    edit = replace(edit, author=check_author(author) if author else default_author())
    new = store.edit(base.dataset, base.table, edit, message=message, base=base.number, rebase=rebase)
    changed = new.number != head_before.number
    id_column = store.spec(base.dataset, base.table).id_column
    return Committed(new, changed, touched_in_split(store.read(base), edit, id_column) if changed else 0)


def default_author() -> str:
    """The user this process runs as: who an edit is recorded as made by when nobody says."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return "unknown"


def check_author(author: str) -> str:
    """An author's name as given, refused when it cannot be shown on one line."""
    name = author.strip()
    if not name or len(name) > 100 or not name.isprintable():
        raise BadInput(f"author {author[:40]!r} is not a name", "give a name of 1 to 100 printable characters")
    return name
