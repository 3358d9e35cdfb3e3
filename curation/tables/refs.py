"""Table references: `clips`, `clips@latest`, `clips@3`, `clips@round-2`, `nexar/clips@3`."""
from __future__ import annotations

import re
from dataclasses import dataclass

from curation.errors import BadInput, Fix, NotFound

_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
_REF = re.compile(rf"^(?:(?P<dataset>{_NAME})/)?(?P<name>{_NAME})(?:@(?P<rev>{_NAME}))?$")
TAG_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
MAX_NAME = 100  # characters of a dataset, table, tag or run name: well inside a file name's 255 bytes
LIST_TABLES = Fix("list the tables to pick one", "list_tables")


def list_revisions(table: str) -> Fix:
    return Fix(f"list the revisions and tags of {table} to pick one", "list_revisions", {"table": table})


@dataclass(frozen=True)
class TableRef:
    dataset: str | None
    name: str
    rev: str = "latest"

    def __str__(self) -> str:
        prefix = f"{self.dataset}/" if self.dataset else ""
        return f"{prefix}{self.name}@{self.rev}"


def parse_ref(text: str) -> TableRef:
    m = _REF.match(text.strip())
    if m and any(part and len(part) > MAX_NAME for part in m.groups()):
        raise BadInput(f"table reference {text[:40]!r}… has a part longer than {MAX_NAME} characters",
                       f"use names of at most {MAX_NAME} characters")
    if not m:
        raise BadInput(f"cannot read table reference {text!r}",
                       "write NAME, NAME@latest, NAME@3, NAME@TAG or DATASET/NAME@REV")
    return TableRef(m["dataset"], m["name"], m["rev"] or "latest")


_NAME_ONLY = re.compile(rf"^{_NAME}$")


def check_name(what: str, name: str) -> None:
    """A dataset or table name: one path component of letters, digits, '_', '.', '-' (never '..' or '/')."""
    if not isinstance(name, str) or not _NAME_ONLY.match(name) or len(name) > MAX_NAME:
        raise BadInput(f"invalid {what} name {name!r}",
                       "use letters, digits, '_', '-', '.' (starting with a letter, digit or '_')")


def check_tag_name(tag: str) -> None:
    if not TAG_PATTERN.match(tag) or tag == "latest" or len(tag) > MAX_NAME:
        raise BadInput(f"invalid tag name {tag[:MAX_NAME]!r}",
                       f"start with a letter, use letters, digits, '_', '-', '.' (at most {MAX_NAME}), and not "
                       "'latest'")


def resolve(store, ref: TableRef | str, default_dataset: str | None):
    """The Revision a reference points at (`store` is any TableStore)."""
    if isinstance(ref, str):
        ref = parse_ref(ref)
    dataset = ref.dataset or default_dataset
    if dataset is None:
        raise NotFound(f"no dataset given for table {ref.name!r}",
                       "ingest a dataset first, or write DATASET/NAME")
    if not store.exists(dataset, ref.name):
        known = ", ".join(s.full_name for s in store.list_tables()) or "none"
        raise NotFound(f"unknown table {dataset}/{ref.name} (known: {known})",
                       LIST_TABLES)
    if ref.rev == "latest":
        return store.head(dataset, ref.name)
    if ref.rev.isdigit():
        return store.revision(dataset, ref.name, int(ref.rev))
    tags = store.tags(dataset, ref.name)
    if ref.rev not in tags:
        raise NotFound(f"unknown revision or tag {ref.rev!r} of {dataset}/{ref.name}",
                       list_revisions(ref.name))
    return store.revision(dataset, ref.name, tags[ref.rev])
