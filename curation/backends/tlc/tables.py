"""The 3LC backend: our versioned tables as 3LC tables. `tlc` is reached only through client.py.

Mapping
  project   = the workspace's 3LC project ($CURATE_TLC_PROJECT, else the workspace folder name)
  dataset   = our dataset name, table = our table name (videos, frames, clips, test)
  root      = $CURATE_TLC_ROOT, else 3LC's own project root (TLC_PROJECT_ROOT_URL, ~/.local/share/3LC/projects),
              so the 3LC Dashboard sees the tables.

Revisions are a 3LC lineage chain. Revision 1 is `Table.from_pandas(...)`; every later revision is a new 3LC table
whose input is the previous revision's table, so our revision N is the N-th table of the chain walked from the
head back to the root:
  edit    -> ONE new table: `Table.delete_rows` when the edit only deletes, otherwise one `EditedTable` whose sparse
             `edits` carry the weight and label changes and the deleted rows (SHOULD_DELETE) together. 3LC 3.4.2 has
             no public `set_value_in_column`; `EditedTable` (what `delete_rows`, `add_column` and Dashboard commits
             build) lives under `tlc._core`. Edits address rows by index in the input revision, so ids are mapped
             to the row indices of exactly that revision (deletions shift indices in the next one).
  replace / revert -> a full copy (`Table.from_pandas(..., input_tables=[previous revision])`): 3LC cannot re-add
             deleted rows sparsely.
3LC tables are immutable, so a pinned revision is simply its table URL.

Side file (the commit log). 3LC keeps no message, op, counts or id-based fingerprint, and a 3LC table can be
written (or half written by a killed process) without being a revision we committed, so each table has a small
JSON registry in the workspace, `<workspace>/tables-3lc/<dataset>/<table>/`:
  table.json              the TableSpec
  tlc.json                for a videos table: the ingest root its relative paths resolve against
  revisions/000001.json   our Revision; meta.tlc_url names its 3LC table, meta.arrow_schema its column types
  tags/<tag>.json, .lock  as in the lance store
The marker is the commit point, written after the 3LC table and after reading that table back to check its
fingerprint. The message is also the 3LC table's description, so the Dashboard shows it.

head follows 3LC: `Table.latest()` from our newest revision finds tables committed on top of it outside curate
(a Dashboard commit); such a chain of single-input edits becomes our next revisions ("adopted", op edit, message
from its description), so a Dashboard edit is `clips@latest` like any other. Tables curate wrote itself (names
`<table>_rNNNN`, e.g. an orphan of a killed writer), tables of other registered tables (a clips table records its
videos table as `input_tables`, and 3LC's lineage index counts that as a descendant of videos) and branches off
older revisions are never adopted. `latest()` waits `latest_timeout` seconds (default 0) for 3LC's index.
"""
from __future__ import annotations

import base64
import logging
import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from curation.backends.tlc.client import SERVICE_ERRORS, TlcClient, import_tlc
from curation.errors import BadInput, Conflict, CurateError, Fix
from curation.fsutil import atomic_write_bytes, atomic_write_json, read_json
from curation.tables.content import apply_edit, check_table_data, core_columns, diff_core, fingerprint
from curation.tables.protocol import Display, Edit, Revision, TableSpec
from curation.tables.registry import RegistryBacked, RevisionRegistry

VIDEO_URL_COLUMN = "video_url"  # extra display column of a videos table: the absolute video path, for the Dashboard
FRAME_IMAGE_COLUMN = "image"  # extra display column of a frames table: the frame as a JPEG file, for the Dashboard
FRAME_IMAGES_DIR = "frames-3lc"  # <workspace>/frames-3lc/<dataset>/<video_id>/<index>.jpg, exported from the cache
REGISTRY_DIR = "tables-3lc"
_MAX_ADOPT = 100
log = logging.getLogger(__name__)


def open_tlc_store(workspace_root: Path) -> TlcTableStore:
    import_tlc()
    workspace_root = Path(workspace_root)
    return TlcTableStore(workspace_root / REGISTRY_DIR, project=project_name(workspace_root),
                         root_url=os.environ.get("CURATE_TLC_ROOT") or None,
                         images_dir=workspace_root / FRAME_IMAGES_DIR)


def project_name(workspace_root: Path) -> str:
    name = os.environ.get("CURATE_TLC_PROJECT") or Path(workspace_root).resolve().name
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "curate"


def _runs(indices: list[int]) -> list[int]:
    """Row indices in 3LC's run encoding: sorted, a consecutive stretch a..b written as a, -b."""
    out: list[int] = []
    idx = sorted(set(indices))
    i = 0
    while i < len(idx):
        j = i
        while j + 1 < len(idx) and idx[j + 1] == idx[j] + 1:
            j += 1
        out += [idx[i]] if j == i else [idx[i], -idx[j]]
        i = j + 1
    return out


def _schema_to_text(schema: pa.Schema) -> str:
    return base64.b64encode(schema.serialize().to_pybytes()).decode()


def _schema_from_text(text: str) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))


# -- the store -------------------------------------------------------------------------------------------------------
class TlcTableStore(RegistryBacked):
    backend = "3lc"

    def __init__(self, registry: str | Path, *, project: str, root_url: str | None = None,
                 latest_timeout: float = 0.0, follow_latest: bool = True, images_dir: Path | None = None):
        self.root = Path(registry)
        self.images_dir = Path(images_dir) if images_dir is not None else None  # frames as JPEG files for 3LC
        self.registry = RevisionRegistry(self.root)
        self.project = project
        self.root_url = root_url
        self.latest_timeout = latest_timeout
        self.follow_latest = follow_latest
        self.api = TlcClient(import_tlc())

    # -- the registry keeps specs, revision markers, tags and the writer lock -----------------------
    def _lock(self, dataset: str, name: str):
        return self.registry.lock(dataset, name)

    @staticmethod
    def _table_name(name: str, number: int) -> str:
        return f"{name}_r{number:04d}"

    # -- reading ------------------------------------------------------------------------------------
    def revisions(self, dataset: str, name: str) -> list[Revision]:
        self.head(dataset, name)  # adopts revisions committed in 3LC on top of ours
        return [self.revision(dataset, name, n) for n in self.registry.numbers(dataset, name)]

    def head(self, dataset: str, name: str) -> Revision:
        head = self.registry.last(dataset, name)
        if self.follow_latest and self._external_chain(head):
            with self._lock(dataset, name):
                head = self._adopt(self.spec(dataset, name), self.registry.last(dataset, name))
        return head

    def read(self, revision: Revision, columns: list[str] | None = None,
             where: pc.Expression | None = None) -> pa.Table:
        schema = _schema_from_text(revision.meta["arrow_schema"])
        whole = where is not None  # 3LC tables are read whole: the filter runs here
        table = self._read_table(self.api.open(revision.meta["tlc_url"]), schema, None if whole else columns)
        if where is None:
            return table
        table = table.filter(where)
        return table.select(list(columns)) if columns is not None else table

    def _read_table(self, table, schema: pa.Schema, columns: list[str] | None = None) -> pa.Table:
        names = list(columns) if columns is not None else schema.names
        unknown = [c for c in names if c not in schema.names]
        if unknown:
            raise BadInput(f"no column(s) {', '.join(unknown)} in this table", f"columns: {', '.join(schema.names)}")
        arrays = []
        for c in names:
            array = self.api.column(table, c)
            if isinstance(array, pa.ChunkedArray):
                array = array.combine_chunks()
            arrays.append(array.cast(schema.field(c).type))
        return pa.Table.from_arrays(arrays, schema=pa.schema([schema.field(c) for c in names]))

    # -- writing ------------------------------------------------------------------------------------
    def create(self, spec: TableSpec, data: pa.Table, *, message: str, meta: dict | None = None,
               display: Display | None = None) -> Revision:
        check_table_data(spec, data)
        self._check_not_empty(spec, data)
        with self._lock(spec.dataset, spec.name):
            if self.exists(spec.dataset, spec.name):
                raise BadInput(f"table {spec.full_name} already exists", "edit it, or ingest into another dataset")
            self.registry.write_spec(spec)
            df, schema = self._frame(spec, data, display)
            inputs = self._parent_lineage(spec)
            table = None
            for attempt in range(100):  # the name may be taken: another workspace's project, or a killed create
                table_name = spec.name if attempt == 0 else f"{spec.name}_{attempt:04d}"
                try:
                    table = self.api.from_pandas(df, schema=schema, description=message, input_tables=inputs,
                                                 project=self.project, dataset=spec.dataset, table_name=table_name,
                                                 root_url=self.root_url)
                    break
                except FileExistsError:
                    continue
            if table is None:
                raise Conflict(f"no free 3LC table name for {spec.full_name} in project {self.project}",
                               "set CURATE_TLC_PROJECT to another project")
            fp = fingerprint(data, spec)
            self._verify(spec, table, data.schema, fp)
            return self._commit(spec, None, table, data.schema, op="create", message=message, rows=data.num_rows,
                                fp=fp, counts={}, meta=meta)

    def replace(self, dataset: str, name: str, data: pa.Table, *, message: str, meta: dict | None = None,
                display: Display | None = None) -> Revision:
        spec = self.spec(dataset, name)
        check_table_data(spec, data)
        self._check_not_empty(spec, data)
        with self._lock(dataset, name):
            head = self._locked_head(spec)
            counts = diff_core(spec, self.read(head, core_columns(spec)), data.select(core_columns(spec))).counts()
            return self._copy(spec, head, data, op="replace", message=message, counts=counts, meta=meta,
                              display=display)

    def revert(self, dataset: str, name: str, to: int, *, message: str) -> Revision:
        spec = self.spec(dataset, name)
        with self._lock(dataset, name):
            head = self._locked_head(spec)
            target = self.revision(dataset, name, to)
            if target.number == head.number:
                return head  # reverting to the head changes nothing: no new revision
            data = self.read(target)
            counts = diff_core(spec, self.read(head, core_columns(spec)), data.select(core_columns(spec))).counts()
            return self._copy(spec, head, data, op="revert", message=message,
                              counts={**counts, "reverted_to": to}, meta=None)

    def edit(self, dataset: str, name: str, edit: Edit, *, message: str, base: int | None = None,
             rebase: bool = False) -> Revision:
        """One new 3LC table: `delete_rows` for a pure deletion, else one EditedTable with every change."""
        spec = self.spec(dataset, name)
        with self._lock(dataset, name):
            head = self._locked_head(spec)
            meta = self.edit_meta(spec, head, base, edit, rebase)
            head_table = self.api.open(head.meta["tlc_url"])
            schema = _schema_from_text(head.meta["arrow_schema"])
            current = self._read_table(head_table, schema, core_columns(spec))
            new, updates, counts = apply_edit(spec, current, edit)  # validates: nothing is written on a bad edit
            if updates.num_rows == 0 and not edit.delete:
                return head  # nothing changes: no new revision
            row = {rid: i for i, rid in enumerate(current[spec.id_column].to_pylist())}  # ids -> rows of head
            before = {r[spec.id_column]: r for r in current.to_pylist()}
            edits: dict = {}
            for column, changes in ((spec.weight_column, edit.weights), (spec.label_column, edit.labels)):
                by_value: dict = {}
                for rid, value in changes.items():
                    value = float(value) if column == spec.weight_column else int(value)
                    if before[rid][column] != value:
                        by_value.setdefault(value, []).append(row[rid])
                if by_value:
                    edits[column] = {"runs_and_values": [x for value, rows in sorted(by_value.items())
                                                         for x in (_runs(rows), value)]}
            deleted_rows = sorted(row[rid] for rid in edit.delete)
            table_name = self._table_name(name, head.number + 1)
            if edits:
                if deleted_rows:
                    edits[self.api.should_delete()] = {"runs_and_values": [_runs(deleted_rows), True]}
                table = self.api.edited(head_table, edits, table_name=table_name, description=message)
            else:
                table = self.api.delete_rows(head_table, deleted_rows, table_name=table_name, description=message)
            fp = fingerprint(new, spec)
            self._verify(spec, table, schema, fp)
            return self._commit(spec, head, table, schema, op="edit", message=message, rows=new.num_rows, fp=fp,
                                counts=counts, meta=meta)

    # -- internals ----------------------------------------------------------------------------------
    @staticmethod
    def _check_not_empty(spec: TableSpec, data: pa.Table) -> None:
        if data.num_rows == 0:  # 3LC 3.4 infers the row schema from the first row and refuses an empty frame
            raise BadInput(f"{spec.full_name}: the 3lc backend cannot store a table without rows",
                           Fix("leave the table out, or use the embedded store (backend lance)", "use_lance",
                               {"first": "leave the table out"}))

    def _frame(self, spec: TableSpec, data: pa.Table, display: Display | None):
        """The DataFrame and 3LC column schemas for `data` (nulls stay None: pandas would make them NaN)."""
        import pandas as pd

        columns, schema = {}, {}
        for f in data.schema:
            col = data[f.name]
            columns[f.name] = pd.Series(col.to_pylist(), dtype=object) if col.null_count else col.to_pandas()
            role = ("id" if f.name == spec.id_column else "label" if f.name == spec.label_column and spec.classes
                    else "weight" if f.name == spec.weight_column else None)
            s = self.api.column_schema(role, f.type, spec.classes)
            if s is not None:
                schema[f.name] = s
        root = self._video_root(spec, display)
        if spec.kind == "videos" and "path" in data.column_names and root and VIDEO_URL_COLUMN not in columns:
            columns[VIDEO_URL_COLUMN] = pd.Series([None if p is None else str(Path(root) / p)
                                                   for p in data["path"].to_pylist()], dtype=object)
            schema[VIDEO_URL_COLUMN] = self.api.column_schema("video_url")
        if spec.kind == "frames" and self.images_dir is not None and FRAME_IMAGE_COLUMN not in columns:
            columns[FRAME_IMAGE_COLUMN] = pd.Series(self._frame_images(spec.dataset, data["frame_id"].to_pylist(),
                                                                       display), dtype=object)
            schema[FRAME_IMAGE_COLUMN] = self.api.column_schema("image_url")
        return pd.DataFrame(columns), schema

    def _frame_images(self, dataset: str, frame_ids: list[str], display: Display | None) -> list[str]:
        """The frames as JPEG files for 3LC's image column (absolute paths), written once from the bytes the
        writer hands over; a later full copy (revert) finds them in place."""
        folder = self.images_dir / dataset
        paths = [folder / Path(*f.rsplit(":", 1)).with_suffix(".jpg") for f in frame_ids]  # <video>/<index>.jpg
        todo = [(f, p) for f, p in zip(frame_ids, paths) if not p.exists()]
        if todo and display is not None and display.frame_jpegs is not None:
            for (_, path), jpeg in zip(todo, display.frame_jpegs([f for f, _ in todo])):
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(path, jpeg)
        return [str(p) for p in paths]

    def _video_root(self, spec: TableSpec, display: Display | None) -> str | None:
        """Where a videos table's relative paths live (handed over by ingest), remembered for later full copies."""
        state_file = Path(self.registry.uri(spec.dataset, spec.name, "tlc.json"))  # a local registry (3LC's root)
        state = read_json(state_file) if state_file.exists() else {}
        root = display.video_root if display is not None else None
        if root and state.get("video_root") != root:
            atomic_write_json(state_file, {**state, "video_root": root})
        return root or state.get("video_root")

    def _parent_lineage(self, spec: TableSpec) -> list[str]:
        """The parent table's head (clips and frames belong to videos), recorded as 3LC lineage."""
        parent = (spec.parent or {}).get("table")
        if parent and parent != spec.name and self.exists(spec.dataset, parent):
            return [self.registry.last(spec.dataset, parent).meta["tlc_url"]]
        return []

    def _copy(self, spec: TableSpec, head: Revision, data: pa.Table, *, op: str, message: str, counts: dict,
              meta: dict | None, display: Display | None = None) -> Revision:
        head_table = self.api.open(head.meta["tlc_url"])
        df, schema = self._frame(spec, data, display)
        url = self.api.sibling(head_table, self._table_name(spec.name, head.number + 1))
        table = self.api.from_pandas(df, schema=schema, description=message, table_url=url,
                                     input_tables=[head.meta["tlc_url"], *self._parent_lineage(spec)])
        fp = fingerprint(data, spec)
        self._verify(spec, table, data.schema, fp)
        return self._commit(spec, head, table, data.schema, op=op, message=message, rows=data.num_rows, fp=fp,
                            counts=counts, meta=meta)

    def _verify(self, spec: TableSpec, table, schema: pa.Schema, fp: str) -> None:
        """Read the new 3LC table back: it must be written and hold exactly the ids, weights and labels we meant."""
        if not self.api.written(table):
            raise CurateError(f"3LC did not write the new revision of {spec.full_name} ({self.api.url(table)})",
                              "check the 3LC project root is writable, then re-run")
        got = fingerprint(self._read_table(table, schema, core_columns(spec)), spec)
        if got != fp:
            raise CurateError(f"3LC's new revision of {spec.full_name} does not hold the expected rows "
                              f"({self.api.url(table)}); nothing was committed", "re-run the command")

    def _locked_head(self, spec: TableSpec) -> Revision:
        head = self.registry.last(spec.dataset, spec.name)
        return self._adopt(spec, head) if self.follow_latest else head

    def _commit(self, spec: TableSpec, parent: Revision | None, table, schema: pa.Schema, *, op: str, message: str,
                rows: int, fp: str, counts: dict, meta: dict | None = None, adopted: bool = False) -> Revision:
        extra = {"tlc_url": self.api.url(table), "arrow_schema": _schema_to_text(schema)}
        if adopted:
            extra["adopted"] = True
        return self.registry.commit(spec, parent, op=op, message=message, rows=rows, fp=fp, counts=counts,
                                    meta={**(meta or {}), **extra})

    # -- following 3LC's latest() -------------------------------------------------------------------
    def _known_urls(self, dataset: str) -> set[str]:
        """Table URLs of every revision of every table of the dataset (never adopted as someone's edit)."""
        urls = set()
        for marker in self.root.glob(f"{dataset}/*/revisions/*.json"):
            urls.add(read_json(marker)["meta"]["tlc_url"])
        return urls

    def _external_chain(self, head: Revision) -> list:
        """3LC tables committed on top of `head` outside curate, oldest first ([] if none)."""
        try:
            head_table = self.api.open(head.meta["tlc_url"])
            latest = self.api.latest(head_table, self.latest_timeout)
        except SERVICE_ERRORS:  # not indexed (a root 3LC does not scan), index unavailable: nothing to follow
            log.debug("3LC latest() failed for %s", head.meta["tlc_url"], exc_info=True)
            return []
        head_url = head.meta["tlc_url"]
        if self.api.url(latest) == head_url:
            return []
        known = self._known_urls(head.dataset)
        ours = re.compile(rf"^{re.escape(head.table)}_r\d+(_\d+)?$")
        chain, table = [], latest
        try:
            for _ in range(_MAX_ADOPT):
                url = self.api.url(table)
                inputs = self.api.input_urls(table)
                if url in known or ours.match(self.api.name(table)) or len(inputs) != 1:
                    return []  # a table of ours (another table's, a killed writer's orphan) or not a plain edit
                chain.append(table)
                if inputs[0] == head_url:
                    return chain[::-1]
                if inputs[0] in known:
                    return []  # a branch off an older revision
                table = self.api.open(inputs[0])
        except SERVICE_ERRORS:  # an input that no longer opens: not a chain to follow
            log.debug("not following 3LC lineage of %s", head_url, exc_info=True)
        return []

    def _adopt(self, spec: TableSpec, head: Revision) -> Revision:
        """Commit tables edited on top of `head` in 3LC (a Dashboard commit) as our next revisions. Under the lock."""
        chain = self._external_chain(head)
        if not chain:
            return head
        schema = _schema_from_text(head.meta["arrow_schema"])
        previous = self.read(head, core_columns(spec))
        for table in chain:
            try:
                current = self._read_table(table, schema, core_columns(spec))
            except (*SERVICE_ERRORS, KeyError, pa.ArrowException):  # e.g. a core column deleted or retyped in the
                # Dashboard: adopt no further
                log.warning("not adopting 3LC table %s as a revision of %s", self.api.url(table), spec.full_name)
                break
            message = (getattr(table, "description", "") or "").strip() or "edited in 3LC"
            head = self._commit(spec, head, table, schema, op="edit", message=message, rows=current.num_rows,
                                fp=fingerprint(current, spec), counts=diff_core(spec, previous, current).counts(),
                                adopted=True)
            previous = current
        return head
