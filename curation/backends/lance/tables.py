"""The embedded, offline table store: one Lance dataset per table, our revisions mapped onto Lance versions.

A table directory `<root>/<dataset>/<name>/` holds `data.lance/` (the Lance dataset; every edit is one or
more Lance commits) beside the revision registry (registry.py: table.json, revisions/, tags/, .lock).

A revision exists only once its marker exists, and the marker names the Lance version holding its content,
so a writer killed between its Lance commits and its marker leaves the previous head intact; the next writer
rolls the Lance head back to that revision before it applies its own edit.
"""
from __future__ import annotations

from pathlib import Path

import lance
import pyarrow as pa
import pyarrow.compute as pc

from curation.errors import BadInput
from curation.faults import fault_point
from curation.storage import Storage
from curation.tables.content import apply_edit, check_table_data, core_columns, diff_core, fingerprint
from curation.tables.protocol import Display, Edit, Revision, TableSpec
from curation.tables.registry import RegistryBacked, RevisionRegistry


class LanceTableStore(RegistryBacked):
    backend = "lance"

    def __init__(self, root: str | Path | Storage):
        self.registry = RevisionRegistry(root)
        self.root = self.registry.storage.root  # a folder's Path, or a bucket's s3:// URI

    def _data(self, dataset: str, name: str) -> str:
        return self.registry.uri(dataset, name, "data.lance")

    # -- reading (the registry knows revisions, specs and tags) -------------------------------------
    def revisions(self, dataset: str, name: str) -> list[Revision]:
        return self.registry.revisions(dataset, name)

    def head(self, dataset: str, name: str) -> Revision:
        return self.registry.last(dataset, name)

    def read(self, revision: Revision, columns: list[str] | None = None,
             where: pc.Expression | None = None) -> pa.Table:
        return self._scanner(revision, columns, where).to_table()

    def explain(self, revision: Revision, columns: list[str] | None = None, where: pc.Expression | None = None) -> str:
        """A read run and its plan with what it touched (`fragments_scanned`, `rows_scanned`): whether a filter
        was answered from an index."""
        return self._scanner(revision, columns, where).analyze_plan()

    def _scanner(self, revision: Revision, columns: list[str] | None, where: pc.Expression | None):
        ds = lance.dataset(self._data(revision.dataset, revision.table), version=revision.meta["lance_version"])
        return ds.scanner(columns=columns, filter=where)

    def _index(self, spec: TableSpec, path: str) -> int:
        """Scalar (B-tree) indexes on the id column and the parent key, which single-row reads filter on; the
        Lance version that has them."""
        ds = lance.dataset(path)
        if ds.count_rows():
            for column in sorted({spec.id_column, (spec.parent or {}).get("key")} & set(ds.schema.names)):
                ds.create_scalar_index(column, index_type="BTREE", replace=True)
        return lance.dataset(path).version

    # -- writing ------------------------------------------------------------------------------------
    def create(self, spec: TableSpec, data: pa.Table, *, message: str, meta: dict | None = None,
               display: Display | None = None) -> Revision:  # nothing to display beside Lance data
        check_table_data(spec, data)
        with self.registry.lock(spec.dataset, spec.name):
            if self.exists(spec.dataset, spec.name):
                raise BadInput(f"table {spec.full_name} already exists", "edit it, or ingest into another dataset")
            path = self._data(spec.dataset, spec.name)  # a killed create may have left data behind
            left = self.registry.storage.list(self.registry.key(spec.dataset, spec.name, "data.lance"))
            lance.write_dataset(data, path, mode="overwrite" if left else "create")
            version = self._index(spec, path)
            self.registry.write_spec(spec)
            return self._commit(spec, None, version, op="create", message=message, rows=data.num_rows,
                                fp=fingerprint(data, spec), counts={}, meta=meta)

    def replace(self, dataset: str, name: str, data: pa.Table, *, message: str, meta: dict | None = None,
                display: Display | None = None) -> Revision:
        spec = self.spec(dataset, name)
        check_table_data(spec, data)
        with self.registry.lock(dataset, name):
            head = self.head(dataset, name)
            counts = diff_core(spec, self.read(head, core_columns(spec)), data.select(core_columns(spec))).counts()
            lance.write_dataset(data, self._data(dataset, name), mode="overwrite")
            version = self._index(spec, self._data(dataset, name))
            return self._commit(spec, head, version, op="replace", message=message, rows=data.num_rows,
                                fp=fingerprint(data, spec), counts=counts, meta=meta)

    def edit(self, dataset: str, name: str, edit: Edit, *, message: str, base: int | None = None,
             rebase: bool = False) -> Revision:
        spec = self.spec(dataset, name)
        with self.registry.lock(dataset, name):
            head = self.head(dataset, name)
            meta = self.edit_meta(spec, head, base, edit, rebase)
            new, updates, counts = apply_edit(spec, self.read(head, core_columns(spec)), edit)
            if updates.num_rows == 0 and not edit.delete:
                return head  # nothing changes: no new revision
            path = self._data(dataset, name)
            ds = self._checkout_head(path, head)
            if updates.num_rows:
                ds.merge_insert(spec.id_column).when_matched_update_all().execute(updates)
            fault_point("lance.between_commits")
            if edit.delete:
                gone = pa.table({spec.id_column: pa.array(sorted(edit.delete), pa.string())})
                lance.dataset(path).merge_insert(spec.id_column).when_matched_delete().execute(gone)
            lance.dataset(path).optimize.optimize_indices()  # the edited rows' fragments join the indexes
            return self._commit(spec, head, lance.dataset(path).version, op="edit", message=message,
                                rows=new.num_rows, fp=fingerprint(new, spec), counts=counts, meta=meta)

    def revert(self, dataset: str, name: str, to: int, *, message: str) -> Revision:
        spec = self.spec(dataset, name)
        with self.registry.lock(dataset, name):
            head = self.head(dataset, name)
            target = self.revision(dataset, name, to)
            if target.number == head.number:
                return head  # reverting to the head changes nothing: no new revision
            path = self._data(dataset, name)
            counts = diff_core(spec, self.read(head, core_columns(spec)),
                               self.read(target, core_columns(spec))).counts()
            lance.dataset(path, version=target.meta["lance_version"]).restore()
            return self._commit(spec, head, lance.dataset(path).version, op="revert", message=message,
                                rows=target.rows, fp=target.fingerprint, counts={**counts, "reverted_to": to})

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
        return self.registry.commit(spec, parent, op=op, message=message, rows=rows, fp=fp, counts=counts,
                                    meta={**(meta or {}), "lance_version": lance_version})
