"""The revision registry both backends keep beside their data: the commit log of our revisions.

`<root>/<dataset>/<name>/` (a folder, or a prefix in a bucket: curation.storage):
  table.json              the TableSpec
  revisions/000001.json   one marker per revision (created atomically, only if absent: the commit point)
  tags/<tag>.json         user tags → revision number
  .lock                   serialises writers (storage.lock: flock, or a lease in a bucket; freed when a writer dies)

A backend stores the content and puts what locates it (a Lance version, a 3LC table URL) in the marker's meta.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from curation.errors import BadInput, Conflict, Fix, NotFound
from curation.faults import fault_point
from curation.storage import Storage, as_storage, create_json_exclusive, read_json, write_json
from curation.tables.content import core_columns, diff_core, preview_ids
from curation.tables.protocol import Edit, Revision, TableSpec
from curation.tables.refs import LIST_TABLES, check_name, check_tag_name, list_revisions


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RevisionRegistry:
    def __init__(self, root: str | Path | Storage):
        self.storage = as_storage(root)

    @staticmethod
    def key(dataset: str, name: str, *parts: str) -> str:
        return "/".join((dataset, name, *parts))

    def uri(self, dataset: str, name: str, *parts: str) -> str:
        """Where a table's file (`parts`) is, for a tool that opens it itself (Lance)."""
        return self.storage.uri(self.key(dataset, name, *parts))

    def _marker(self, dataset: str, name: str, number: int) -> str:
        return self.key(dataset, name, "revisions", f"{number:06d}.json")

    def lock(self, dataset: str, name: str):
        return self.storage.lock(self.key(dataset, name, ".lock"))

    def exists(self, dataset: str, name: str) -> bool:
        return self.storage.exists(self._marker(dataset, name, 1))

    def list_specs(self) -> list[TableSpec]:
        found = [self.key(d, n, "table.json") for d in self.storage.list("") for n in self.storage.list(d)]
        specs = [TableSpec.from_dict(read_json(self.storage, k)) for k in found if self.storage.exists(k)]
        return [s for s in specs if self.exists(s.dataset, s.name)]

    def spec(self, dataset: str, name: str) -> TableSpec:
        if not self.exists(dataset, name):
            raise NotFound(f"unknown table {dataset}/{name}", LIST_TABLES)
        return TableSpec.from_dict(read_json(self.storage, self.key(dataset, name, "table.json")))

    def write_spec(self, spec: TableSpec) -> None:
        check_name("dataset", spec.dataset)
        check_name("table", spec.name)
        write_json(self.storage, self.key(spec.dataset, spec.name, "table.json"), spec.to_dict())

    def numbers(self, dataset: str, name: str) -> list[int]:
        names = self.storage.list(self.key(dataset, name, "revisions"))
        return sorted(int(n[:-5]) for n in names if n.endswith(".json") and n[:-5].isdigit())

    def last(self, dataset: str, name: str) -> Revision:
        numbers = self.numbers(dataset, name)
        if not numbers:
            raise NotFound(f"unknown table {dataset}/{name}", LIST_TABLES)
        return self.revision(dataset, name, numbers[-1])

    def revision(self, dataset: str, name: str, number: int) -> Revision:
        marker = self._marker(dataset, name, number)
        if not self.storage.exists(marker):
            head = self.numbers(dataset, name)
            raise NotFound(f"{dataset}/{name} has no revision {number} (revisions 1..{head[-1] if head else 0})",
                           list_revisions(name))
        return Revision.from_dict(read_json(self.storage, marker))

    def revisions(self, dataset: str, name: str) -> list[Revision]:
        return [self.revision(dataset, name, n) for n in self.numbers(dataset, name)]

    def tags(self, dataset: str, name: str) -> dict[str, int]:
        folder = self.key(dataset, name, "tags")
        return {t[:-5]: read_json(self.storage, f"{folder}/{t}")["revision"] for t in self.storage.list(folder)
                if t.endswith(".json")}

    def set_tag(self, dataset: str, name: str, tag: str, number: int, *, force: bool = False) -> None:
        check_tag_name(tag)
        self.revision(dataset, name, number)  # must exist
        with self.lock(dataset, name):
            existing = self.tags(dataset, name)
            if tag in existing and existing[tag] != number and not force:
                raise BadInput(f"tag {tag!r} already points at revision {existing[tag]}",
                               Fix("move it on purpose (force)", "force_tag"))
            write_json(self.storage, self.key(dataset, name, "tags", f"{tag}.json"),
                       {"revision": number, "created": now()})

    def commit(self, spec: TableSpec, parent: Revision | None, *, op: str, message: str, rows: int, fp: str,
               counts: dict, meta: dict) -> Revision:
        """Record the next revision; a second writer that got there first gets a Conflict. Called under the
        table's lock."""
        self.storage.remove_temporaries(self.key(spec.dataset, spec.name, "revisions"))  # writers hold the lock
        number = parent.number + 1 if parent else 1
        rev = Revision(dataset=spec.dataset, table=spec.name, number=number,
                       parent=parent.number if parent else None, created=now(), message=message, op=op,
                       rows=rows, fingerprint=fp, counts=counts, meta=meta)
        fault_point("registry.before_marker")
        try:
            create_json_exclusive(self.storage, self._marker(spec.dataset, spec.name, number), rev.to_dict())
        except FileExistsError:
            raise Conflict(f"another writer committed {spec.full_name}@{number} first", "re-run the command")
        return rev


class RegistryBacked:
    """The TableStore methods that only the registry answers, for backends that keep `self.registry`."""

    registry: RevisionRegistry

    def exists(self, dataset: str, name: str) -> bool:
        return self.registry.exists(dataset, name)

    def list_tables(self) -> list[TableSpec]:
        return self.registry.list_specs()

    def spec(self, dataset: str, name: str) -> TableSpec:
        return self.registry.spec(dataset, name)

    def revision(self, dataset: str, name: str, number: int) -> Revision:
        return self.registry.revision(dataset, name, number)

    def tags(self, dataset: str, name: str) -> dict[str, int]:
        return self.registry.tags(dataset, name)

    def set_tag(self, dataset: str, name: str, tag: str, number: int, *, force: bool = False) -> None:
        self.registry.set_tag(dataset, name, tag, number, force=force)

    def edit_meta(self, spec: TableSpec, head: Revision, base: int | None, edit: Edit, rebase: bool) -> dict:
        """Check an edit prepared against revision `base` (under the table's lock) and return what its revision
        records. When the head has moved past `base`, the edit applies on the head unless an id it touches
        changed in between (a Conflict; `rebase` applies it anyway)."""
        meta = {"video_edits": edit.videos} if edit.videos else {}
        if edit.author:
            meta["author"] = edit.author
        if base is None or base == head.number:
            return meta
        if not rebase:
            columns = core_columns(spec)
            d = diff_core(spec, self.read(self.revision(spec.dataset, spec.name, base), columns),
                          self.read(head, columns))
            touched = set(d.added) | set(d.deleted) | {c[0] for c in d.reweighted} | {c[0] for c in d.relabeled}
            overlap = edit.ids() & touched
            if overlap:
                raise Conflict(f"{len(overlap)} id(s) of this edit changed in {spec.full_name} since revision {base} "
                               f"(head is {head.number}): {preview_ids(overlap)}",
                               Fix("review the head's changes, then re-run the edit against it, or rebase it onto "
                                   "the head on purpose", "rebase"))
        return {**meta, "rebased_from": base}
