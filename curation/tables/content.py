"""Backend-independent logic over table content: applying an edit, validating it, fingerprints."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from curation.errors import BadInput, Fix, NotFound
from curation.tables.protocol import Edit, TableSpec


# Weights are stored as float32: bounded so that none overflows to inf or silently underflows to 0.
MIN_WEIGHT, MAX_WEIGHT = 1e-6, 1e6
WEIGHT_RULE = f"use 0 (exclude) or a weight from {MIN_WEIGHT:g} to {MAX_WEIGHT:g}, e.g. 0.25"


def valid_weight(w) -> bool:
    return isinstance(w, (int, float)) and (w == 0 or (math.isfinite(w) and MIN_WEIGHT <= w <= MAX_WEIGHT))


def core_columns(spec: TableSpec) -> list[str]:
    """The columns edits touch: id, weight, label (those the table has)."""
    return [c for c in (spec.id_column, spec.weight_column, spec.label_column) if c]


def fingerprint(table: pa.Table, spec: TableSpec) -> str:
    """Content hash of ids, weights and labels, independent of row order."""
    core = table.select(core_columns(spec))
    core = core.take(pc.sort_indices(core[spec.id_column]))
    h = hashlib.sha256()
    for column in core.columns:
        array = column.combine_chunks()
        h.update(str(array.type).encode())
        for buf in array.buffers():
            if buf is not None:
                h.update(buf)
    return f"sha256:{h.hexdigest()[:32]}"


def preview_ids(ids) -> str:
    ids = sorted(ids)
    more = f" and {len(ids) - 5} more" if len(ids) > 5 else ""
    return ", ".join(map(str, ids[:5])) + more


def validate_edit(spec: TableSpec, current: pa.Table, edit: Edit) -> None:
    """Reject the whole edit (nothing written) on unknown ids or invalid values."""
    if edit.is_empty():
        raise BadInput("the edit is empty", "name ids to delete, reweight or relabel")
    present = current[spec.id_column]
    wanted = edit.ids()
    # Hash the (small) edit, probe the (large) table: is_in builds its hash set from value_set.
    found = present.filter(pc.is_in(present, value_set=pa.array(sorted(wanted), pa.string()))).to_pylist()
    unknown = sorted(wanted - set(found))
    if unknown:
        raise NotFound(f"{len(unknown)} unknown id(s) in {spec.full_name}: {preview_ids(unknown)}",
                       Fix("check the ids against the table; nothing was written", "check_ids",
                           {"table": spec.name}))
    both = set(edit.delete) & (set(edit.weights) | set(edit.labels))
    if both:
        raise BadInput(f"id(s) both deleted and edited: {preview_ids(both)}", "keep one action per id")
    if edit.weights and not spec.weight_column:
        raise BadInput(f"{spec.full_name} has no weight column", "reweight a clips table")
    bad_w = sorted(i for i, w in edit.weights.items() if not valid_weight(w))
    if bad_w:
        raise BadInput(f"weight {edit.weights[bad_w[0]]!r} of {bad_w[0]} is out of range"
                       + (f" (and {len(bad_w) - 1} more)" if len(bad_w) > 1 else ""), WEIGHT_RULE)
    if edit.labels:
        if not spec.label_column:
            raise BadInput(f"{spec.full_name} has no label column", "relabel a table with labels")
        n = len(spec.classes or [])
        bad_l = [i for i, v in edit.labels.items() if not (0 <= v < n)]
        if bad_l:
            raise BadInput(f"labels must be class indices 0..{n - 1} ({', '.join(spec.classes or [])}); "
                           f"bad ids {preview_ids(bad_l)}", "give a class name or index")


def apply_edit(spec: TableSpec, current: pa.Table, edit: Edit) -> tuple[pa.Table, pa.Table, dict]:
    """Given the core columns of the head, return (new core content, changed rows, counts).

    Changed rows hold the full core columns of every id whose weight or label really changes.
    """
    validate_edit(spec, current, edit)
    ids = current[spec.id_column]
    keep = pc.invert(pc.is_in(ids, value_set=pa.array(sorted(edit.delete), pa.string())))
    new = current.filter(keep)
    counts = {"deleted": len(edit.delete), "reweighted": 0, "relabeled": 0}
    touched = pc.is_in(new[spec.id_column], value_set=pa.array(sorted(set(edit.weights) | set(edit.labels)),
                                                              pa.string()))
    changed = new.filter(touched).to_pylist()
    updates = []
    for row in changed:
        before = dict(row)
        rid = row[spec.id_column]
        if rid in edit.weights:
            row[spec.weight_column] = float(edit.weights[rid])
        if rid in edit.labels:
            row[spec.label_column] = int(edit.labels[rid])
        if spec.weight_column and row[spec.weight_column] != before[spec.weight_column]:
            counts["reweighted"] += 1
        if spec.label_column and row[spec.label_column] != before[spec.label_column]:
            counts["relabeled"] += 1
        if row != before:
            updates.append(row)
    schema = new.schema
    update_table = pa.Table.from_pylist(updates, schema=schema)
    if updates:
        unchanged = new.filter(pc.invert(pc.is_in(new[spec.id_column],
                                                  value_set=update_table[spec.id_column])))
        new = pa.concat_tables([unchanged, update_table])
    return new, update_table, counts


def check_table_data(spec: TableSpec, data: pa.Table) -> None:
    """A table's id column must exist, be strings, unique and non-null; label/weight columns must exist."""
    for col in core_columns(spec):
        if col not in data.column_names:
            raise BadInput(f"{spec.full_name}: column {col!r} is missing", "add it to the data")
    ids = data[spec.id_column]
    if not pa.types.is_string(ids.type) and not pa.types.is_large_string(ids.type):
        raise BadInput(f"{spec.full_name}: ids must be strings, got {ids.type}", "cast the id column to string")
    if ids.null_count:
        raise BadInput(f"{spec.full_name}: {ids.null_count} row(s) without an id", "give every row an id")
    if pc.count_distinct(ids).as_py() != len(ids):
        counts = pc.value_counts(ids)
        dup = [d["values"] for d in counts.to_pylist() if d["counts"] > 1]
        raise BadInput(f"{spec.full_name}: duplicate ids {preview_ids(dup)}", "ids must be unique")


@dataclass
class Diff:
    """What changed between two revisions, by id."""

    added: list[str]
    deleted: list[str]
    reweighted: list[tuple[str, float, float]]
    relabeled: list[tuple[str, int, int]]

    def counts(self) -> dict:
        return {k: len(getattr(self, k)) for k in ("added", "deleted", "reweighted", "relabeled")}


def diff_core(spec: TableSpec, a: pa.Table, b: pa.Table) -> Diff:
    """Compare the core columns of two revisions of one table, joined by id."""
    key = spec.id_column
    a_df = a.select(core_columns(spec)).to_pandas().set_index(key)
    b_df = b.select(core_columns(spec)).to_pandas().set_index(key)
    added = sorted(set(b_df.index) - set(a_df.index))
    deleted = sorted(set(a_df.index) - set(b_df.index))
    both = a_df.merge(b_df, left_index=True, right_index=True, suffixes=("_a", "_b"))
    out = {"reweighted": [], "relabeled": []}
    for kind, col in (("reweighted", spec.weight_column), ("relabeled", spec.label_column)):
        if not col:
            continue
        old, new = both[f"{col}_a"], both[f"{col}_b"]
        changed = both[(old != new) & ~(old.isna() & new.isna())].sort_index()
        out[kind] = list(zip(changed.index, changed[f"{col}_a"].tolist(), changed[f"{col}_b"].tolist()))
    return Diff(added=added, deleted=deleted, **out)


def touched_in_split(table: pa.Table, edit: Edit, id_column: str, split: str = "val") -> int:
    """How many rows of `split` in `table` the edit deletes, reweights or relabels: edits of val clips change what
    a run's val metric measures, so runs before and after are no longer scored on the same clips."""
    if "split" not in table.column_names:
        return 0
    touched = edit.delete | set(edit.weights) | set(edit.labels)
    rows = table.filter(pc.field("split") == split)[id_column].to_pylist()
    return sum(1 for i in rows if i in touched)


VAL_WARNING = ("it changes {n} val clip(s): runs trained before and after are no longer scored on the same clips; "
               "`compare` scores them on the val clips of the earliest revision")


def diff_revisions(store, a, b) -> Diff:
    """What changed from revision `a` to revision `b` of one table (Revisions of `store`)."""
    if (a.dataset, a.table) != (b.dataset, b.table):
        raise BadInput(f"{a.ref} and {b.ref} are different tables", "compare two revisions of one table")
    spec = store.spec(a.dataset, a.table)
    return diff_core(spec, store.read(a, core_columns(spec)), store.read(b, core_columns(spec)))


def changed_meanwhile(store, base, head, edit: Edit) -> list[dict]:
    """The rows an edit staged on `base` touches that changed between `base` and `head` (another writer's commit
    came first): [{id, change, base, head}] with the row's value at each. A stale change set shows them, and is
    applied to the head only where its author confirms them (a lost update otherwise)."""
    diff = diff_revisions(store, base, head)
    touched = edit.delete | set(edit.weights) | set(edit.labels)
    changed = [{"id": i, "change": "deleted", "base": None, "head": None} for i in diff.deleted if i in touched]
    for kind in ("reweighted", "relabeled"):
        changed += [{"id": i, "change": kind, "base": a, "head": b} for i, a, b in getattr(diff, kind) if i in touched]
    return sorted(changed, key=lambda c: c["id"])


def diff_per_parent(diff: Diff, parent_of: dict[str, str]) -> list[dict]:
    """The diff counted per parent (a clip's video): [{parent, added, deleted, reweighted, relabeled}], the most
    changed first. `parent_of`: id → parent id for the ids of both revisions."""
    out: dict[str, dict] = {}
    for kind in ("added", "deleted", "reweighted", "relabeled"):
        for item in getattr(diff, kind):
            parent = parent_of.get(item if isinstance(item, str) else item[0], "?")
            row = out.setdefault(parent, {"parent": parent, "added": 0, "deleted": 0, "reweighted": 0,
                                          "relabeled": 0})
            row[kind] += 1
    return sorted(out.values(), key=lambda r: (-sum(v for k, v in r.items() if k != "parent"), r["parent"]))
