"""What a reviewer is shown beside the rows, as library functions (the dashboard caches and serves them): which
rows were edited since ingest, the frames a thumbnail or a suggestion shows, the other tables' points of a run's
map, and a run's proposed retime of a video while it still applies."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from curation.ingest.layouts import LAYOUTS
from curation.ingest.layouts.base import TIME_MATCH_S
from curation.review.clip_view import clip_frames
from curation.review.metrics import evaluated_names, final_collection
from curation.review.suggestion import Suggestion
from curation.review.words import SIGNAL_HELP, proposal_words
from curation.runs.protocol import CollectionKey
from curation.tables.content import diff_revisions
from curation.tables.requests import parse_retime
from curation.task import FRAMES

EVIDENCE_FRAMES = 8  # frames shown for a video-level suggestion


def edited_ids(ws, revision) -> set[str]:
    """Ids of the revision's rows reweighted or relabelled since its table's last ingest (a thumbnail's "edited"
    badge)."""
    ingested = max((r for r in ws.tables.revisions(revision.dataset, revision.table)
                    if r.op in ("create", "replace") and r.number <= revision.number), key=lambda r: r.number)
    d = diff_revisions(ws.tables, ingested, revision)
    return {c[0] for c in d.reweighted} | {c[0] for c in d.relabeled}


def context_points(ws, run: str, revision) -> list[pa.Table]:
    """The run's final collections of the dataset's other tables: the rest of its one 2-D map."""
    found = []
    for name in ws.runs.collections(run):
        key = CollectionKey.parse(name)
        if not key.tag and key.table != revision.table and final_collection(ws, run, key.table) == name:
            collection = ws.runs.collection(run, name).drop_columns(["embedding"])
            found.append(collection.rename_columns(evaluated_names(collection.column_names)))
    return found


def _by_video(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["video_id"], []).append(r)
    return out


def tile_frames(rows: pa.Table, clips: pa.Table, key: str) -> list[list[str]]:
    """Per row of a page, its frame ids oldest first: a clip's own, or for a video its middle clip's."""
    if key != "video_id":
        return [clip_frames(r) for r in rows.select(["video_id", "end_frame", "stride", "n_frames"]).to_pylist()]
    wanted = pa.array(rows["video_id"].to_pylist(), pa.string())
    mine = clips.filter(pc.is_in(clips["video_id"], value_set=wanted)).select(
        ["video_id", "end_frame", "stride", "n_frames"]).sort_by([("video_id", "ascending"),
                                                                  ("end_frame", "ascending")])
    of_video = _by_video(mine.to_pylist())
    return [clip_frames(of_video[v][len(of_video[v]) // 2]) if of_video.get(v) else [] for v in wanted.to_pylist()]


def with_evidence_frames(ws, trained, suggestions: list[Suggestion]) -> list[dict]:
    """Each suggestion as a dict with `frames` (a clip's own; for a video, EVIDENCE_FRAMES spread over the whole
    video, any split) and its near-duplicate partner's `partner_frames`, what a reviewer compares, and in words
    what accepting it does (`proposal`) and what its signal means (`signal_help`)."""
    wanted = {s.video or s.id for s in suggestions} | {s.partner for s in suggestions if s.partner}
    value_set = pa.array(sorted(wanted), pa.string())
    clips = {c["clip_id"]: c for c in ws.tables.read(trained, where=pc.is_in(pc.field("clip_id"), value_set=pa.array(
        sorted(s.id for s in suggestions if s.level != "video"), pa.string()))).to_pylist()}
    frames_table = ws.tables.read(ws.task(trained.dataset).head(ws.tables, FRAMES), ["frame_id", "video_id", "index"],
                                  where=pc.is_in(pc.field("video_id"), value_set=value_set))
    of_video = {v: [f["frame_id"] for f in rows] for v, rows in _by_video(frames_table.sort_by("index").to_pylist())
                .items()}

    def frames(i: str, level: str) -> list[str]:
        if level != "video":
            return clip_frames(clips[i]) if i in clips else []
        ids = of_video.get(i, [])
        return ids[::max(1, len(ids) // EVIDENCE_FRAMES)][:EVIDENCE_FRAMES]

    return [{**s.__dict__, "frames": frames(s.id, s.level),
             "partner_frames": frames(s.partner, "video") if s.partner else [],
             "proposal": proposal_words(s.action, s.value), "signal_help": SIGNAL_HELP[s.signal]}
            for s in suggestions]


def proposed_retime(ws, dataset: str, video: dict | None, timing: dict[str, Suggestion]) -> dict | None:
    """The proposed move (`timing`: a run's retimes by video) of the video's labelled time, while the video is
    still labelled at the old time (a retime committed since makes it moot)."""
    found = video and timing.get(video["video_id"])
    if not found:
        return None
    labelled = LAYOUTS[ws.task(dataset).layout].labelled_times(video) or []
    old, new = parse_retime(found.value, found.id)
    old = labelled[0] if old is None and len(labelled) == 1 else old
    if old is None or not any(abs(t - old) <= TIME_MATCH_S for t in labelled):
        return None
    return {"video_id": found.id, "value": found.value, "old": old, "new": new, "reason": found.reason,
            "score": found.score}
