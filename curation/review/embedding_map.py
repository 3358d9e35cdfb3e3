"""A run's 2-D embedding map of a table revision, as the dashboard draws it: one point per clip with map
coordinates, positions scaled into [-1, 1] (aspect kept), and one colour code per point."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.errors import BadInput, NotFound

CATEGORICAL = {"label", "pred", "split", "signal"}  # besides text and booleans: integers that name a class
FEW = 16  # an integer column with at most this many distinct values (a fold, a class index) is categorical
BINS = 64  # a continuous colour is one of 64 steps; code BINS means "no value"
SIZE_STEPS = 8  # a point's size is one of 8 steps of the size column
MARGIN = 0.95  # points stay inside the canvas edge


def map_points(table: pa.Table, colour: str = "label", classes: list | None = None,
               signals: dict[str, str] | None = None, id_column: str = "clip_id",
               context: list[pa.Table] = (), size: str | None = None) -> dict:
    """`table`: a revision joined with a run's metrics (review.metrics.revision_with_metrics). Returns ids,
    each point's video (an index into `videos`), x and y in [-1, 1], and the colour: codes plus `categories`
    (categorical) or `range` [low, high] with BINS steps (continuous; code BINS = no value), by any column.
    `size` (a numeric column): each point's size step, 0 … SIZE_STEPS − 1 (the smallest for no value). `signals`:
    the suggestion signal per clip id (for colour "signal"). `context`: the run's collections of other tables
    from the same pass (one 2-D map for all, e.g. the test clips): drawn after the revision's `editable`
    points."""
    if "map_x" not in table.column_names:
        raise NotFound("this run has no 2-D map of this revision",
                       "collect the run over the revision (its final pass draws the map)")
    table = table.filter(pc.is_valid(table["map_x"]))
    if table.num_rows == 0:
        raise NotFound("no clip of this revision is on the run's map", "collect the run over this revision")
    editable = table.num_rows
    if context:
        keep = [c for c in dict.fromkeys((id_column, "video_id", "map_x", "map_y", colour, size))
                if c in table.column_names]
        others = [c.rename_columns([id_column if n == "clip_id" else n for n in c.column_names]) for c in context]
        table = pa.concat_tables([table.select(keep)] + [c.select([k for k in keep if k in c.column_names])
                                                          for c in others], promote_options="permissive")
    xy = np.stack([table["map_x"].to_numpy(zero_copy_only=False),
                   table["map_y"].to_numpy(zero_copy_only=False)], axis=1).astype(np.float64)
    centre = (xy.max(axis=0) + xy.min(axis=0)) / 2
    half = max(float((xy.max(axis=0) - xy.min(axis=0)).max()) / 2, 1e-9)
    xy = (xy - centre) / half * MARGIN
    videos = pc.dictionary_encode(table["video_id"].combine_chunks())
    return {"ids": table[id_column].combine_chunks(), "editable": editable,
            "videos": videos.dictionary.to_pylist(), "video": videos.indices.to_numpy(zero_copy_only=False),
            "x": np.round(xy[:, 0], 5), "y": np.round(xy[:, 1], 5),
            "colour": colour_codes(table, colour, classes, signals, id_column),
            **({"size": size_codes(table, size)} if size else {})}


def map_json(points: dict) -> dict:
    """`map_points` as plain JSON values (lists)."""
    lists = {k: points[k].to_pylist() if isinstance(points[k], pa.Array) else points[k].tolist()
             for k in ("ids", "video", "x", "y")}
    return {**points, **lists, "colour": {**points["colour"], "codes": points["colour"]["codes"].tolist()},
            **({"size": {**points["size"], "codes": points["size"]["codes"].tolist()}} if "size" in points else {})}


MAP_MAGIC = b"CMAP"
MAP_ARRAYS = (("x", "float32"), ("y", "float32"), ("video", "uint32"), ("colour", "uint16"), ("size", "uint8"))


def map_binary(points: dict, **header) -> bytes:
    """`map_points` for a page that draws a million points: "CMAP", the length of a JSON header (uint32, little
    endian), the header (everything but the per-point arrays; each array's name, type and length), then x, y
    (float32), video (uint32), colour (uint16) and size (uint8, when sized) codes, each from a 4-byte boundary.
    The ids are not in it: they come as text (`map_ids_text`) when a selection or a hover needs them."""
    arrays = {"x": points["x"], "y": points["y"], "video": points["video"], "colour": points["colour"]["codes"],
              **({"size": points["size"]["codes"]} if "size" in points else {})}
    layout = [{"name": name, "type": kind, "length": len(arrays[name])} for name, kind in MAP_ARRAYS if name in arrays]
    meta = {**header, "count": len(points["x"]), "editable": points["editable"], "videos": points["videos"],
            "colour": {k: v for k, v in points["colour"].items() if k != "codes"},
            **({"size": {k: v for k, v in points["size"].items() if k != "codes"}} if "size" in points else {}),
            "arrays": layout}
    text = json.dumps(meta).encode()
    text += b" " * (-(len(text) + 8) % 4)
    parts = [MAP_MAGIC, len(text).to_bytes(4, "little"), text]
    for item in layout:
        data = np.ascontiguousarray(arrays[item["name"]], dtype=item["type"]).tobytes()
        parts += [data, b"\0" * (-len(data) % 4)]
    return b"".join(parts)


def map_ids_text(points: dict) -> str:
    """The map's ids in point order, one a line (what the page splits when it first needs an id)."""
    return "\n".join(points["ids"].to_pylist())


def colour_codes(table: pa.Table, colour: str, classes: list | None = None,
                 signals: dict[str, str] | None = None, id_column: str = "clip_id") -> dict:
    if colour == "signal":
        values = [(signals or {}).get(i) or "none" for i in table[id_column].to_pylist()]
    elif colour not in table.column_names:
        raise NotFound(f"this map has no {colour} values", f"colour by one of {', '.join(table.column_names)}")
    else:
        values = table[colour].to_pylist()
    if colour == "signal" or _categorical(table[colour], colour):
        if colour in ("label", "pred") and classes:
            values = [classes[v] if isinstance(v, int) and 0 <= v < len(classes) else v for v in values]
        present = {str(v) for v in values if v is not None}
        names = [c for c in classes or [] if c in present] + sorted(present - set(classes or []))  # class order
        codes = {n: k for k, n in enumerate(names)}
        if any(v is None for v in values):
            names.append("none")
        return {"by": colour, "kind": "categorical", "categories": names,
                "codes": np.array([codes[str(v)] if v is not None else len(names) - 1 for v in values], np.int64)}
    v = np.array([np.nan if x is None else x for x in values], dtype=np.float64)
    known = ~np.isnan(v)
    low, high = (float(v[known].min()), float(v[known].max())) if known.any() else (0.0, 0.0)
    steps = np.clip(((v - low) / (high - low or 1) * (BINS - 1)).round(), 0, BINS - 1)
    codes = np.where(known, steps, BINS).astype(int)
    return {"by": colour, "kind": "continuous", "range": [low, high], "bins": BINS, "codes": codes}


def _categorical(column, name: str) -> bool:
    kind = column.type
    if name in CATEGORICAL or pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_boolean(kind):
        return True
    return pa.types.is_integer(kind) and len(pc.unique(column.drop_null())) <= FEW


def size_codes(table: pa.Table, size: str) -> dict:
    """A numeric column as point sizes: steps 0 … SIZE_STEPS − 1 over its range (0 where it has no value)."""
    if size not in table.column_names or not (pa.types.is_integer(table[size].type)
                                             or pa.types.is_floating(table[size].type)):
        numeric = [c for c in table.column_names if pa.types.is_integer(table[c].type)
                   or pa.types.is_floating(table[c].type)]
        raise BadInput(f"cannot size the map's points by {size!r}", f"size by a numeric column: {', '.join(numeric)}")
    v = np.array([np.nan if x is None else x for x in table[size].to_pylist()], dtype=np.float64)
    known = ~np.isnan(v)
    low, high = (float(v[known].min()), float(v[known].max())) if known.any() else (0.0, 0.0)
    steps = np.clip(((v - low) / (high - low or 1) * (SIZE_STEPS - 1)).round(), 0, SIZE_STEPS - 1)
    codes = np.where(known, steps, 0).astype(int)
    return {"by": size, "range": [low, high], "steps": SIZE_STEPS, "codes": codes}


def signal_of_clips(table: pa.Table, suggestions, id_column: str = "clip_id") -> dict[str, str]:
    """Each clip's suggestion signal: its own suggestion, or its video's."""
    return {c: s.signal for c, s in suggestion_of_clips(table, suggestions, id_column).items()}


def suggestion_of_clips(table: pa.Table, suggestions, id_column: str = "clip_id") -> dict:
    """Each clip's suggestion: its own, or its video's."""
    by_id = {s.id: s for s in suggestions}
    return {c: by_id.get(c) or by_id.get(v) for c, v in zip(table[id_column].to_pylist(),
                                                         table["video_id"].to_pylist())
            if by_id.get(c) or by_id.get(v)}


def with_suggestions(table: pa.Table, suggestions, id_column: str = "clip_id") -> pa.Table:
    """`table` with each row's suggestion as columns to show, sort and filter by: `suggestion` (signal: action
    value) and `suggestion_score` (null where there is none)."""
    found = suggestion_of_clips(table, suggestions, id_column)
    ids = table[id_column].to_pylist()
    text = [f"{s.signal}: {s.action} {s.value}".strip() if (s := found.get(i)) else None for i in ids]
    score = [found[i].score if i in found else None for i in ids]
    return table.append_column("suggestion", pa.array(text, pa.string())).append_column(
        "suggestion_score", pa.array(score, pa.float64()))


def neighbours(ws, run: str, revision, clip_id: str, k: int = 20) -> list[tuple[str, float]]:
    """The `k` clips of `revision` nearest `clip_id` in the run's embedding (its final collection over the
    revision's table), nearest first, with their cosine distances; the clip itself is not among them. Answered
    from the collection's vector index; candidates not in the revision (deleted since) are skipped."""
    from curation.review.metrics import final_collection

    name = final_collection(ws, run, revision.table)
    if name is None:
        raise NotFound(f"run {run} has no embeddings of {revision.table}", "collect the run over this revision")
    spec = ws.tables.spec(revision.dataset, revision.table)

    def in_revision(ids: set[str]) -> set[str]:
        rows = ws.tables.read(revision, [spec.id_column], where=pc.is_in(pc.field(spec.id_column),
                                                                         value_set=pa.array(sorted(ids), pa.string())))
        return set(rows[spec.id_column].to_pylist())

    if not in_revision({clip_id}):
        raise NotFound(f"clip {clip_id} is not in {revision.ref}", "pick a clip of the revision shown")
    try:
        return ws.runs.nearest(run, name, clip_id, k, keep=in_revision)
    except NotFound:
        raise NotFound(f"clip {clip_id} has no embedding in run {run}'s pass over {revision.ref}",
                       "pick a clip of the revision shown") from None
