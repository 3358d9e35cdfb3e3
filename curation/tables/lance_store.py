"""The embedded, offline table store: one Lance dataset per table, our revisions mapped onto Lance versions.

Layout of a table directory `<root>/<dataset>/<name>/`:
  data.lance/            the Lance dataset (every edit is one or more Lance commits)
  table.json             the TableSpec
  revisions/000001.json  one marker per revision; the marker is the commit point
  tags/<tag>.json        user tags → revision number
  .lock                  serialises writers (flock, released if a writer is killed)

A revision exists only once its marker exists, and the marker names the Lance version holding its content,
so a writer killed between its Lance commits and its marker leaves the previous head intact; the next writer
rolls the Lance head back to that revision before it applies its own edit.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import lance
import pyarrow as pa

from curation.errors import BadInput, Conflict, NotFound
from curation.fsutil import atomic_write_json, create_json_exclusive, file_lock, read_json
from curation.tables.content import apply_edit, check_table_data, core_columns, diff_core, fingerprint
from curation.tables.protocol import Edit, Revision, TableSpec
from curation.tables.refs import check_tag_name


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class LanceTableStore:
    backend = "lance"

    def __init__(self, root: str | Path):
        self.root = Path(root)

    # -- paths --------------------------------------------------------------------------------------
    def _dir(self, dataset: str, name: str) -> Path:
        return self.root / dataset / name

    def _data(self, dataset: str, name: str) -> str:
        return str(self._dir(dataset, name) / "data.lance")

    def _marker(self, dataset: str, name: str, number: int) -> Path:
        return self._dir(dataset, name) / "revisions" / f"{number:06d}.json"

    def _lock(self, dataset: str, name: str):
        return file_lock(self._dir(dataset, name) / ".lock")

    # -- reading ------------------------------------------------------------------------------------
    def exists(self, dataset: str, name: str) -> bool:
        return self._marker(dataset, name, 1).exists()

    def list_tables(self) -> list[TableSpec]:
        specs = []
        for spec_file in sorted(self.root.glob("*/*/table.json")):
            spec = TableSpec.from_dict(read_json(spec_file))
            if self.exists(spec.dataset, spec.name):
                specs.append(spec)
        return specs

    def spec(self, dataset: str, name: str) -> TableSpec:
        if not self.exists(dataset, name):
            raise NotFound(f"unknown table {dataset}/{name}", "run `curate tables` to list them")
        return TableSpec.from_dict(read_json(self._dir(dataset, name) / "table.json"))

    def _numbers(self, dataset: str, name: str) -> list[int]:
        folder = self._dir(dataset, name) / "revisions"
        try:
            names = [e.name for e in os.scandir(folder)]
        except FileNotFoundError:
            names = []
        return sorted(int(n[:-5]) for n in names if n.endswith(".json") and n[:-5].isdigit())

    def revisions(self, dataset: str, name: str) -> list[Revision]:
        return [self.revision(dataset, name, n) for n in self._numbers(dataset, name)]

    def head(self, dataset: str, name: str) -> Revision:
        numbers = self._numbers(dataset, name)
        if not numbers:
            raise NotFound(f"unknown table {dataset}/{name}", "run `curate tables` to list them")
        return self.revision(dataset, name, numbers[-1])

    def revision(self, dataset: str, name: str, number: int) -> Revision:
        marker = self._marker(dataset, name, number)
        if not marker.exists():
            head = self._numbers(dataset, name)
            raise NotFound(f"{dataset}/{name} has no revision {number} (revisions 1..{head[-1] if head else 0})",
                           f"run `curate log {name}` to list revisions")
        return Revision.from_dict(read_json(marker))

    def read(self, revision: Revision, columns: list[str] | None = None) -> pa.Table:
        ds = lance.dataset(self._data(revision.dataset, revision.table), version=revision.meta["lance_version"])
        return ds.to_table(columns=columns)

    def tags(self, dataset: str, name: str) -> dict[str, int]:
        folder = self._dir(dataset, name) / "tags"
        return {p.stem: read_json(p)["revision"] for p in sorted(folder.glob("*.json"))}

    # -- writing ------------------------------------------------------------------------------------
    def create(self, spec: TableSpec, data: pa.Table, *, message: str, meta: dict | None = None) -> Revision:
        check_table_data(spec, data)
        with self._lock(spec.dataset, spec.name):
            if self.exists(spec.dataset, spec.name):
                raise BadInput(f"table {spec.full_name} already exists", "edit it, or ingest into another dataset")
            path = self._data(spec.dataset, spec.name)  # a killed create may have left data behind
            ds = lance.write_dataset(data, path, mode="overwrite" if os.path.exists(path) else "create")
            atomic_write_json(self._dir(spec.dataset, spec.name) / "table.json", spec.to_dict())
            return self._commit(spec, None, ds.version, op="create", message=message, rows=data.num_rows,
                                fp=fingerprint(data, spec), counts={}, meta=meta)

    def replace(self, dataset: str, name: str, data: pa.Table, *, message: str,
                meta: dict | None = None) -> Revision:
        spec = self.spec(dataset, name)
        check_table_data(spec, data)
        with self._lock(dataset, name):
            head = self.head(dataset, name)
            counts = diff_core(spec, self.read(head, core_columns(spec)), data.select(core_columns(spec))).counts()
            ds = lance.write_dataset(data, self._data(dataset, name), mode="overwrite")
            return self._commit(spec, head, ds.version, op="replace", message=message, rows=data.num_rows,
                                fp=fingerprint(data, spec), counts=counts, meta=meta)

    def edit(self, dataset: str, name: str, edit: Edit, *, message: str, base: int | None = None,
             rebase: bool = False) -> Revision:
        spec = self.spec(dataset, name)
        with self._lock(dataset, name):
            head = self.head(dataset, name)
            if base is not None and base != head.number and not rebase:
                raise Conflict(f"{dataset}/{name} moved from revision {base} to {head.number} since this edit "
                               "was prepared", "re-run it against the new head, or pass --rebase")
            new, updates, counts = apply_edit(spec, self.read(head, core_columns(spec)), edit)
            if updates.num_rows == 0 and not edit.delete:
                return head  # nothing changes: no new revision
            path = self._data(dataset, name)
            ds = self._checkout_head(path, head)
            if updates.num_rows:
                ds.merge_insert(spec.id_column).when_matched_update_all().execute(updates)
            if edit.delete:
                gone = pa.table({spec.id_column: pa.array(sorted(edit.delete), pa.string())})
                lance.dataset(path).merge_insert(spec.id_column).when_matched_delete().execute(gone)
            return self._commit(spec, head, lance.dataset(path).version, op="edit", message=message,
                                rows=new.num_rows, fp=fingerprint(new, spec), counts=counts)

    def revert(self, dataset: str, name: str, to: int, *, message: str) -> Revision:
        spec = self.spec(dataset, name)
        with self._lock(dataset, name):
            head = self.head(dataset, name)
            target = self.revision(dataset, name, to)
            path = self._data(dataset, name)
            counts = diff_core(spec, self.read(head, core_columns(spec)),
                               self.read(target, core_columns(spec))).counts()
            lance.dataset(path, version=target.meta["lance_version"]).restore()
            return self._commit(spec, head, lance.dataset(path).version, op="revert", message=message,
                                rows=target.rows, fp=target.fingerprint, counts={**counts, "reverted_to": to})

    def set_tag(self, dataset: str, name: str, tag: str, number: int, *, force: bool = False) -> None:
        check_tag_name(tag)
        self.revision(dataset, name, number)  # must exist
        with self._lock(dataset, name):
            existing = self.tags(dataset, name)
            if tag in existing and existing[tag] != number and not force:
                raise BadInput(f"tag {tag!r} already points at revision {existing[tag]}", "pass --force to move it")
            atomic_write_json(self._dir(dataset, name) / "tags" / f"{tag}.json", {"revision": number,
                                                                                "created": _now()})

    # -- internals ----------------------------------------------------------------------------------
    def _checkout_head(self, path: str, head: Revision) -> lance.LanceDataset:
        """The Lance dataset at the head revision; undoes Lance commits of a writer killed before its marker."""
        ds = lance.dataset(path)
        if ds.version != head.meta["lance_version"]:
            lance.dataset(path, version=head.meta["lance_version"]).restore()
            ds = lance.dataset(path)
        return ds

    def _commit(self, spec: TableSpec, parent: Revision | None, lance_version: int, *, op: str, message: str,
                rows: int, fp: str, counts: dict, meta: dict | None = None) -> Revision:
        number = parent.number + 1 if parent else 1
        rev = Revision(dataset=spec.dataset, table=spec.name, number=number,
                       parent=parent.number if parent else None, created=_now(), message=message, op=op,
                       rows=rows, fingerprint=fp, counts=counts,
                       meta={**(meta or {}), "lance_version": lance_version})
        try:
            create_json_exclusive(self._marker(spec.dataset, spec.name, number), rev.to_dict())
        except FileExistsError:
            raise Conflict(f"another writer committed {spec.full_name}@{number} first", "re-run the command")
        return rev
