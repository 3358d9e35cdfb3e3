"""A run's per-sample metrics per clip_id, ready to join to any revision of its table."""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.errors import Fix, NotFound
from curation.runs.protocol import CollectionKey
from curation.runs.store import draws_per_clip


# a collection pass's eval-mode columns, renamed beside the training dynamics' own prob, loss and margin
EVALUATED = {"prob": "eval_prob", "loss": "eval_loss", "margin": "eval_margin"}


def evaluated_names(columns: list[str]) -> list[str]:
    """A collection's column names as the metrics tables name them (`EVALUATED`)."""
    return [EVALUATED.get(c, c) for c in columns]


def clip_metrics(ws, run: str, epoch: int | None = None, table: str | None = None) -> pa.Table:
    """One row per clip_id: the dynamics of `epoch` (default: the last) averaged over the clip's draws —
    loss, prob, margin, draws — the area under the margin over all epochs (`aum`), and, from the run's final
    collection pass over `table` (default: the table it trained on), eval-mode prob/loss/margin/prediction and
    2-D map coordinates."""
    dynamics = ws.runs.dynamics(run)
    if dynamics is None:
        raise NotFound(f"run {run} has no per-sample dynamics yet", "let it finish an epoch")
    last = pc.max(dynamics["epoch"]).as_py()
    epoch = epoch or last
    if not 1 <= epoch <= last:
        raise NotFound(f"run {run} has epochs 1..{last}, not {epoch}", Fix(f"pick an epoch from 1 to {last}", "option",
                                                                    {"option": "epoch", "value": f"1..{last}"}))
    per_clip = draws_per_clip(dynamics.filter(pc.field("epoch") == epoch))
    aum = dynamics.group_by("clip_id").aggregate([("margin", "mean")]).rename_columns(["clip_id", "aum"])
    out = per_clip.join(aum, "clip_id", join_type="full outer")
    name = final_collection(ws, run, table)
    if name:
        collected = ws.runs.collection(run, name)
        kept = [c for c in (*EVALUATED, "pred", "map_x", "map_y") if c in collected.column_names]
        collected = collected.select(["clip_id", *kept]).rename_columns(["clip_id", *evaluated_names(kept)])
        out = out.join(collected, "clip_id", join_type="full outer")
    return out.sort_by("clip_id")


def final_collection(ws, run: str, table: str | None = None) -> str | None:
    """The name of the run's final (untagged) collection pass over `table` (default: its training table)."""
    training = ws.runs.record(run).training_collection()
    keys = [CollectionKey.parse(n) for n in ws.runs.collections(run)]
    found = [k for k in keys if not k.tag and not k.dataset and k.table == (table or training.table)]
    return str(training if training in found else max(found, key=lambda k: k.revision)) if found else None


def join_metrics(table: pa.Table, metrics: pa.Table, id_column: str = "clip_id") -> pa.Table:
    """`table` with the metrics columns added by id (rows without metrics get nulls); never by position."""
    clash = [c for c in metrics.column_names if c != "clip_id" and c in table.column_names]
    metrics = metrics.rename_columns([f"run_{c}" if c in clash else c for c in metrics.column_names])
    joined = table.join(metrics.rename_columns([id_column if c == "clip_id" else c for c in metrics.column_names]),
                        id_column, join_type="left outer")
    return joined.sort_by(id_column)


def revision_with_metrics(ws, revision, run_ref: str | None = None, epoch: int | None = None,
                          where: pc.Expression | None = None) -> pa.Table:
    """The revision's rows sorted by id, joined by id with a run's per-clip metrics when a run is named. Kept for
    the next call (a dashboard asks for the same join on every page, map and clip) until the run writes again; a
    revision never changes. With `where`, only the rows it selects, read through the store's filter (one video's
    clips: not the table) and joined with the run's kept metrics."""
    run = run_ref and ws.runs.resolve(run_ref)
    spec = ws.tables.spec(revision.dataset, revision.table)
    if where is not None:
        rows = ws.tables.read(revision, where=where).sort_by(spec.id_column)
        if not run:
            return rows
        metrics = _kept(("metrics", str(ws.root), run, epoch, revision.table, ws.runs.version(run)),
                        lambda: clip_metrics(ws, run, epoch, revision.table))
        mine = metrics.filter(pc.is_in(metrics["clip_id"], value_set=rows[spec.id_column].combine_chunks()))
        return join_metrics(rows, mine, spec.id_column)
    key = (str(ws.root), revision.ref, revision.fingerprint, run, epoch, run and ws.runs.version(run))

    def joined() -> pa.Table:
        table = ws.tables.read(revision).sort_by(spec.id_column)
        return join_metrics(table, clip_metrics(ws, run, epoch, revision.table), spec.id_column) if run else table

    return _kept(key, joined)


def _kept(key: tuple, make) -> pa.Table:
    """`make()`, kept under `key` for the next call (the last `_KEEP_JOINED` kept)."""
    with _joined_lock:
        if key in _joined:
            _joined.move_to_end(key)
            return _joined[key]
    table = make()
    with _joined_lock:
        _joined[key] = table
        while len(_joined) > _KEEP_JOINED:
            _joined.popitem(last=False)
    return table


_joined: OrderedDict = OrderedDict()  # key → joined table, least recently used first
_joined_lock = threading.Lock()  # the dashboard serves requests from a thread pool
_KEEP_JOINED = 8


LOW_QUANTILE = 0.25  # labels are per video: a wrong one shows as a stretch of contradicted clips


def low_mean(values, quantile: float = LOW_QUANTILE) -> float:
    """Mean of the lowest `quantile` of a video's clip scores (NaN when it has none)."""
    v = np.asarray(values, dtype=float)
    v = np.sort(v[~np.isnan(v)])
    return float(v[:max(1, int(np.ceil(quantile * len(v))))].mean()) if len(v) else float("nan")


# per metric column: how its clips are summarised per video (the worst clip says most about a video)
_VIDEO_SUMMARY = {"loss": ("mean", "max"), "eval_loss": ("mean", "max"), "prob": ("mean", "max"),
                  "eval_prob": ("mean", "max"), "margin": ("mean", "min"), "aum": ("mean", "low"),
                  "suggestion_score": ("max",)}


def per_video(table: pa.Table) -> pa.Table:
    """Clip rows (with or without joined metrics) as one row per video: split, clips, positives (clips with
    label 1), label (the highest clip label: Nexar's target, a class video's class), mean weight, and per
    metric its mean and its worst clip (max loss/prob, min margin, `aum_low` = mean AUM of the lowest quarter of
    its clips)."""
    df = table.to_pandas()
    groups = df.groupby("video_id", sort=True)
    out = {"video_id": list(groups.groups)}
    if "split" in df:
        out["split"] = groups["split"].first().tolist()
    out["clips"] = groups.size().tolist()
    if "label" in df:
        out["positives"] = groups["label"].apply(lambda s: int((s == 1).sum())).tolist()
        out["label"] = groups["label"].max().tolist()
    if "weight" in df:
        out["weight"] = groups["weight"].mean().tolist()
    for column, stats in _VIDEO_SUMMARY.items():
        if column in df:
            for stat in stats:
                series = groups[column].apply(low_mean) if stat == "low" else groups[column].agg(stat)
                out[f"{column}_{stat}"] = series.tolist()
    return pa.table(out)
