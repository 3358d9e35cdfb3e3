"""Carrying a user's edits across a re-ingest: curation is never reset by new source data.

An ingest revision (create or re-ingest) records in its meta, under `carried`, the user edits it applied on
top of the source: deletes, weights, relabels (with the source label the user overrode) and video-level
operations. At the next re-ingest, the user's edits are that overlay composed with everything that changed
from the last ingest revision to the head (found by id), plus the video-level operations edits recorded.
They are applied to the new source data by stable id; video-level operations reach the video's new rows too.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from curation.tables.content import core_columns, diff_core
from curation.tables.protocol import Revision, TableSpec

ACTIONS = ("delete", "weight", "label")


@dataclass
class Overlay:
    """A user's edits relative to the source data of a table."""

    delete: set[str] = field(default_factory=set)
    weights: dict[str, float] = field(default_factory=dict)
    labels: dict[str, tuple[int, int | None]] = field(default_factory=dict)  # id → (user's label, source's)
    videos: dict[str, dict] = field(default_factory=dict)  # video_id → {"action": …, "value": …}
    times: dict[str, list[list[float]]] = field(default_factory=dict)  # video_id → [[old, new] s, …] in order

    def is_empty(self) -> bool:
        return not (self.delete or self.weights or self.labels or self.videos or self.times)

    def to_dict(self) -> dict:
        return {"delete": sorted(self.delete), "weights": dict(sorted(self.weights.items())),
                "labels": {k: list(v) for k, v in sorted(self.labels.items())},
                "videos": dict(sorted(self.videos.items())), "times": dict(sorted(self.times.items()))}

    @classmethod
    def from_dict(cls, d: dict | None) -> "Overlay":
        d = d or {}
        return cls(set(d.get("delete", [])), dict(d.get("weights", {})),
                   {k: (v[0], v[1]) for k, v in d.get("labels", {}).items()}, dict(d.get("videos", {})),
                   {k: [list(m) for m in v] for k, v in d.get("times", {}).items()})


@dataclass
class CarryReport:
    """What a re-ingest did with the user's edits."""

    deleted: int = 0
    reweighted: int = 0
    relabeled: int = 0
    gone: list[str] = field(default_factory=list)  # edited ids (or videos) the new source no longer has
    conflicts: list[dict] = field(default_factory=list)  # relabels whose source label changed meanwhile
    agreed: list[str] = field(default_factory=list)  # relabels the source now makes itself
    discarded: bool = False

    def carried(self) -> int:
        return self.deleted + self.reweighted + self.relabeled

    def to_dict(self) -> dict:
        return {"deleted": self.deleted, "reweighted": self.reweighted, "relabeled": self.relabeled,
                "gone": len(self.gone), "gone_ids": self.gone[:50], "label_conflicts": self.conflicts[:50],
                "label_agreed": len(self.agreed), "discarded": self.discarded}


def is_ingest_revision(rev: Revision) -> bool:
    return "ingest" in rev.meta


def last_ingest(store, dataset: str, name: str) -> Revision | None:
    """The newest revision of a table that an ingest wrote (None for tables no ingest wrote)."""
    return next((r for r in reversed(store.revisions(dataset, name)) if is_ingest_revision(r)), None)


def user_edits(store, dataset: str, name: str) -> Overlay:
    """The user's edits of a table since its source was last ingested (carried ones included)."""
    spec = store.spec(dataset, name)
    revisions = store.revisions(dataset, name)
    base, head = last_ingest(store, dataset, name) or revisions[0], revisions[-1]
    overlay = Overlay.from_dict(base.meta.get("carried"))
    if head.number == base.number:
        return overlay
    parent_key = (spec.parent or {}).get("key")
    columns = core_columns(spec) + ([parent_key] if parent_key else [])
    before, after = store.read(base, core_columns(spec)), store.read(head, columns)
    d = diff_core(spec, before, after)
    overlay.delete = (overlay.delete - set(d.added)) | set(d.deleted)
    for rid in d.deleted:
        overlay.weights.pop(rid, None)
        overlay.labels.pop(rid, None)
    overlay.weights.update({rid: new for rid, _, new in d.reweighted})
    for rid, old, new in d.relabeled:
        source = overlay.labels[rid][1] if rid in overlay.labels else old
        overlay.labels[rid] = (new, source)
    overlay.labels = {rid: v for rid, v in overlay.labels.items() if v[0] != v[1]}
    for rev in (r for r in revisions if r.number > base.number):
        overlay.videos.update(rev.meta.get("video_edits") or {})
    if parent_key and overlay.videos:
        overlay.videos = _still_in_effect(spec, overlay.videos, after, parent_key)
    return overlay


def _still_in_effect(spec: TableSpec, videos: dict, head: pa.Table, parent_key: str) -> dict:
    """Video-level operations the head still shows (a later revert or edit may have undone one)."""
    rows: dict[str, list[dict]] = {}
    for row in head.to_pylist():
        rows.setdefault(row[parent_key], []).append(row)
    kept = {}
    for video, op in videos.items():
        members = rows.get(video, [])
        if op["action"] == "delete":
            ok = not members
        else:
            column = spec.weight_column if op["action"] == "weight" else spec.label_column
            ok = bool(members) and column is not None and all(m[column] == op["value"] for m in members)
        if ok:
            kept[video] = op
    return kept


def apply_overlay(spec: TableSpec, overlay: Overlay, data: pa.Table) -> tuple[pa.Table, Overlay, CarryReport]:
    """New source `data` with the user's edits applied by id; returns (data, the overlay now carried, report)."""
    report = CarryReport()
    ids = data[spec.id_column].to_pylist()
    parent_key = (spec.parent or {}).get("key")
    parents = data[parent_key].to_pylist() if parent_key and parent_key in data.column_names else [None] * len(ids)
    weights = data[spec.weight_column].to_pylist() if spec.weight_column else None
    labels = data[spec.label_column].to_pylist() if spec.label_column else None
    keep = [True] * len(ids)
    carried = Overlay(videos={v: op for v, op in overlay.videos.items() if v in set(parents)})
    report.gone += sorted(set(overlay.videos) - set(carried.videos))
    for i, (rid, video) in enumerate(zip(ids, parents)):
        op = carried.videos.get(video)
        if op and op["action"] == "delete" or rid in overlay.delete:
            keep[i] = False
            carried.delete.add(rid)
            continue
        if weights is not None:
            target = overlay.weights.get(rid, op["value"] if op and op["action"] == "weight" else None)
            if target is not None:
                carried.weights[rid] = target
                report.reweighted += target != weights[i]
                weights[i] = target
        if labels is not None:
            target, old_source = overlay.labels.get(rid, (None, None))
            if target is None and op and op["action"] == "label":
                target, old_source = op["value"], labels[i]
            if target is not None:
                if labels[i] == target:  # the source now says what the user said: nothing left to carry
                    if rid in overlay.labels:
                        report.agreed.append(rid)
                    continue
                if rid in overlay.labels and labels[i] != old_source:
                    report.conflicts.append({"id": rid, "source_was": old_source, "source_now": labels[i],
                                             "user": target})
                carried.labels[rid] = (target, labels[i])
                labels[i] = target
                report.relabeled += 1
    present = set(ids)
    report.gone += sorted((overlay.delete | set(overlay.weights) | set(overlay.labels)) - present)
    report.deleted = keep.count(False)
    columns = {}
    if weights is not None:
        columns[spec.weight_column] = pa.array(weights, data.schema.field(spec.weight_column).type)
    if labels is not None:
        columns[spec.label_column] = pa.array(labels, data.schema.field(spec.label_column).type)
    for name, array in columns.items():
        data = data.set_column(data.schema.get_field_index(name), name, array)
    return data.filter(pa.array(keep, pa.bool_())), carried, report


def discard(overlay: Overlay) -> CarryReport:
    """The report of a re-ingest told to drop the user's edits."""
    return CarryReport(discarded=not overlay.is_empty())
