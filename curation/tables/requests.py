"""Turning what a user asks for (id lists, label names, edit files) into an `Edit`, and querying rows."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from curation.csvio import nonneg_float, read_rows
from curation.errors import BadInput, Fix, NotFound
from curation.filters import filter_table
from curation.fsutil import input_file
from curation.tables.content import WEIGHT_RULE, valid_weight
from curation.tables.protocol import Edit, TableSpec

ACTIONS = ("delete", "weight", "label", "retime")  # retime: a video's labelled time moves (ingest.retime)
RETIME_FORMAT = "give the new time in seconds, or OLD:NEW for one of several labelled times"


ID_HEADERS = ("clip_id", "video_id", "frame_id", "id")  # an id file may be CSV, e.g. `curate show --csv`


def parse_ids(text: str) -> list[str]:
    """Ids separated by commas or whitespace; `@FILE` reads them from a file: one id per line, or a CSV whose
    header names an id column (what `curate show --csv` writes)."""
    if text.startswith("@"):
        path = input_file(text[1:], "id file", "give @PATH to a file with one id per line")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise BadInput(f"id file {path} is not UTF-8 text", "give a file with one id per line") from None
        header = next(iter(text.splitlines()), "").split(",")
        column = next((h.strip() for h in header if h.strip() in ID_HEADERS), None)
        if column:
            return [r[column] for r in read_rows(path, [column], "id file") if r[column]] or \
                parse_ids("")  # a header alone: no ids
    ids = [t for t in text.replace(",", " ").split() if t]
    if not ids:
        raise BadInput("no ids given", Fix("give ids separated by commas, or a file of ids", "ids"))
    return ids


def label_index(spec: TableSpec, value: str, where: str = "") -> int:
    """A class name or index → the integer label (`where` names the line it came from)."""
    classes = spec.classes or []
    if value in classes:
        return classes.index(value)
    if value.lstrip("-").isdigit() and 0 <= int(value) < len(classes):
        return int(value)
    raise BadInput(f"{where + ': ' if where else ''}unknown label {value!r} for {spec.full_name}",
                   f"use one of {', '.join(f'{i}={c}' for i, c in enumerate(classes))}")


def parse_weight(value: str, where: str = "weight") -> float:
    weight = nonneg_float(value, where, WEIGHT_RULE)
    if not valid_weight(weight):
        raise BadInput(f"{where} {value!r} is out of range", WEIGHT_RULE)
    return weight


def read_edit_file(path: str | Path) -> list[dict]:
    """Rows of an edit file: id, action (delete|weight|label|retime), value, [level clip|video, reason, score]."""
    path = Path(path)
    rows = read_rows(path, ["id", "action"], "edit file")
    for row in rows:
        row["_where"] = f"{path.name} line {row['_line']}"
        check_request(row)
    if not rows:
        raise BadInput(f"{path.name} has no edit rows", "add rows, or skip the edit")
    return rows


def edit_from_rows(spec: TableSpec, table: pa.Table, rows: list[dict], parent_ids: set[str] | None = None) -> Edit:
    """Build one Edit; video-level rows apply to every row of that video (the table's parent key).
    `parent_ids` (the parent table's ids) makes a known video without rows here a no-op, not an unknown id."""
    if any(r["action"] == "retime" for r in rows):
        raise BadInput("retime requests move videos' labelled times and re-derive their clips, not rows of a table",
                       "apply them as retimes (split them from the other requests)")
    edit = Edit()
    parent_key = (spec.parent or {}).get("key")
    members: dict[str, list[str]] = {}
    if parent_key and any(r.get("level") == "video" for r in rows):
        df = table.select([spec.id_column, parent_key]).to_pandas()
        members = df.groupby(parent_key)[spec.id_column].apply(list).to_dict()
    known = set(table[spec.id_column].to_pylist())
    unknown = []  # (where, id)
    asked: dict[str, dict[str, tuple]] = {}  # id → action → (value, where): conflicts are refused
    for row in rows:
        where = row.get("_where", f"row for {row['id']}")
        if row.get("level") == "video":
            if not parent_key:
                raise BadInput(f"{spec.full_name} has no parent video column", "use level clip for this table")
            if row["id"] not in members:
                if parent_ids is None or row["id"] not in parent_ids:
                    unknown.append((where, f"video {row['id']!r}"))
                continue
            ids = members[row["id"]]
        elif row["id"] not in known:
            unknown.append((where, f"id {row['id']!r}"))
            continue
        else:
            ids = [row["id"]]
        value = None if row["action"] == "delete" else parse_weight(row["value"], f"{where}: weight") \
            if row["action"] == "weight" else label_index(spec, row["value"], where)
        for i in ids:
            _check_compatible(asked.setdefault(i, {}), i, row["action"], value, where, spec)
            if row["action"] == "delete":
                edit.delete.add(i)
            elif row["action"] == "weight":
                edit.weights[i] = value
            else:
                edit.labels[i] = value
        if row.get("level") == "video":
            edit.videos[row["id"]] = {"action": row["action"], "value": value}
    if unknown:
        where, what = unknown[0]
        more = f" (and {len(unknown) - 1} more unknown ids)" if len(unknown) > 1 else ""
        raise NotFound(f"{where}: unknown {what} in {spec.full_name}{more}", "check the ids; nothing was written")
    return edit


def _check_compatible(asked: dict[str, tuple], i: str, action: str, value, where: str, spec: TableSpec) -> None:
    """One rule for every pair of operations on one id in one edit: a delete goes with nothing else, and the
    same action twice must agree; weight and label together are fine."""
    def said(a, v):
        return a if a == "delete" else f"{a} {spec.classes[v] if a == 'label' and spec.classes else v}"

    for other, (other_value, other_where) in asked.items():
        if (other == "delete") != (action == "delete") or (other == action and other_value != value):
            raise BadInput(f"{where}: {said(action, value)} of {i} conflicts with {said(other, other_value)} of it "
                           f"({other_where})", "keep one operation per id (a delete, or a weight and a label)")
    asked[action] = (value, where)


def check_request(row: dict) -> None:
    """One edit request {id, action, value, level}: a known action, a value where it needs one, a known level."""
    where = row.get("_where", f"request for {row.get('id')!r}")
    if not isinstance(row.get("id"), str) or not row["id"]:
        raise BadInput(f"{where}: no id", "give every request the id it applies to")
    if row.get("action") not in ACTIONS:
        raise BadInput(f"{where}: action {row.get('action')!r} is not one of {', '.join(ACTIONS)}", "fix the request")
    if row["action"] != "delete" and row.get("value", "") in ("", None):
        raise BadInput(f"{where}: action {row['action']} needs a value", "fix the request")
    if row.get("level", "") not in ("", "clip", "video"):
        raise BadInput(f"{where}: level {row['level']!r} is not clip or video", "fix the request")
    if row["action"] == "retime":
        if row.get("level", "") == "clip":
            raise BadInput(f"{where}: a retime moves a video's labelled time", "give the video's id at level video")
        parse_retime(row["value"], where)


def parse_retime(value: str, where: str) -> tuple[float | None, float]:
    """A retime's value: NEW (the video's only labelled time moves there) or OLD:NEW, in seconds."""
    parts = str(value).split(":")
    if len(parts) > 2:
        raise BadInput(f"{where}: retime {value!r} is not NEW or OLD:NEW", RETIME_FORMAT)
    times = [nonneg_float(p, where, RETIME_FORMAT) for p in parts]
    return (None, times[0]) if len(times) == 1 else (times[0], times[1])


def split_retimes(rows: list[dict]) -> tuple[list[dict], dict[str, list[tuple[float | None, float]]]]:
    """(the rows that edit a table, the retimes: video_id → [(old or None, new)]) of checked edit requests."""
    rest, moves = [], {}
    for row in rows:
        if row["action"] == "retime":
            moves.setdefault(row["id"], []).append(parse_retime(row["value"], row.get("_where", row["id"])))
        else:
            rest.append(row)
    return rest, moves


def edit_from_file(store, revision, path: str | Path) -> Edit:
    """The Edit an edit file asks of `revision` (a Revision of `store`)."""
    return edit_from_requests(store, revision, read_edit_file(path))


def edit_from_requests(store, revision, rows: list[dict]) -> Edit:
    """The Edit that edit requests (as edit-file rows) ask of `revision`, with video-level rows cascading to
    the video's rows and checked against the parent (videos) table."""
    spec = store.spec(revision.dataset, revision.table)
    parent = spec.parent or {}
    columns = [spec.id_column] + ([parent["key"]] if parent else [])
    parent_ids = None
    if parent and store.exists(revision.dataset, parent["table"]):
        parent_rev = store.head(revision.dataset, parent["table"])
        parent_ids = set(store.read(parent_rev, [parent["key"]])[parent["key"]].to_pylist())
    return edit_from_rows(spec, store.read(revision, columns), rows, parent_ids)


def query(table: pa.Table, where: str | None = None, sort: str | None = None, descending: bool = False,
          limit: int | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """Filter (the safe filter language of curation.filters), sort and cut rows for display."""
    rows, _ = page(table, where, sort, descending, 0, limit, columns)
    return rows.to_pandas()


def page(table: pa.Table, where: str | None = None, sort: str | None = None, descending: bool = False,
         offset: int = 0, limit: int | None = None, columns: list[str] | None = None) -> tuple[pa.Table, int]:
    """One page of the filtered, sorted rows, and how many rows matched."""
    if where:
        table = filter_table(table, where)
    if sort:
        if sort not in table.column_names:
            raise BadInput(f"cannot sort by {sort!r}", f"use one of {', '.join(table.column_names)}")
        table = table.sort_by([(sort, "descending" if descending else "ascending")])
    if columns:
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            raise BadInput(f"unknown column(s) {', '.join(missing)}", f"use {', '.join(table.column_names)}")
        table = table.select(columns)
    return (table.slice(offset, limit) if limit else table.slice(offset)), table.num_rows
