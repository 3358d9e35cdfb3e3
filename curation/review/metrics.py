"""A run's per-sample metrics per clip_id, ready to join to any revision of its table."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from curation.errors import NotFound


def clip_metrics(ws, run: str, epoch: int | None = None) -> pa.Table:
    """One row per clip_id: the dynamics of `epoch` (default: the last) averaged over the clip's draws —
    loss, prob, margin, draws — the area under the margin over all epochs (`aum`), and, where the run has a
    collection of this table, its eval-mode prob/loss and 2-D map coordinates."""
    dynamics = ws.runs.dynamics(run)
    if dynamics is None:
        raise NotFound(f"run {run} has no per-sample dynamics yet", "let it finish an epoch")
    last = pc.max(dynamics["epoch"]).as_py()
    epoch = epoch or last
    if not 1 <= epoch <= last:
        raise NotFound(f"run {run} has epochs 1..{last}, not {epoch}", f"use --epoch 1..{last}")
    one = dynamics.filter(pc.field("epoch") == epoch)
    per_clip = one.group_by("clip_id").aggregate([("loss", "mean"), ("prob", "mean"), ("margin", "mean"),
                                                   ("clip_id", "count")])
    per_clip = per_clip.rename_columns(["clip_id", "loss", "prob", "margin", "draws"])
    aum = dynamics.group_by("clip_id").aggregate([("margin", "mean")]).rename_columns(["clip_id", "aum"])
    out = per_clip.join(aum, "clip_id", join_type="full outer")
    info = ws.runs.info(run)
    name = f"{info['inputs']['table']}@{info['inputs']['revision']}"
    if name in ws.runs.collections(run):
        collected = ws.runs.collection(run, name).select(["clip_id", "prob", "loss", "map_x", "map_y"])
        collected = collected.rename_columns(["clip_id", "eval_prob", "eval_loss", "map_x", "map_y"])
        out = out.join(collected, "clip_id", join_type="full outer")
    return out.sort_by("clip_id")


def join_metrics(table: pa.Table, metrics: pa.Table, id_column: str = "clip_id") -> pa.Table:
    """`table` with the metrics columns added by id (rows without metrics get nulls); never by position."""
    clash = [c for c in metrics.column_names if c != "clip_id" and c in table.column_names]
    metrics = metrics.rename_columns([f"run_{c}" if c in clash else c for c in metrics.column_names])
    joined = table.join(metrics.rename_columns([id_column if c == "clip_id" else c for c in metrics.column_names]),
                        id_column, join_type="left outer")
    return joined.sort_by(id_column)
