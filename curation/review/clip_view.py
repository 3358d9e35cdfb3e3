"""What the dashboard's clip viewer shows of one clip: its frames (by frame id), its video's timeline (every
clip with its label and the model's probability, the video's alert and event times), its neighbours in the
video, and its loss and probability across the run's epochs (the training dynamics)."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

from curation.errors import NotFound
from curation.ingest.clips import frame_indices
from curation.frames.cache import frame_id
from curation.frames.timeline import Timeline
from curation.jsonsafe import json_row

MARK_COLUMNS = ("time_of_alert", "time_of_event")  # Nexar; the events layout keeps a JSON list in `events`


def clip_frames(row: dict) -> list[str]:
    """The frame ids of a clip row, oldest first."""
    return [frame_id(row["video_id"], k) for k in frame_indices(row["end_frame"], row["stride"], row["n_frames"])]


def clip_view(table: pa.Table, clip_id: str, video: dict | None = None, dynamics: pa.Table | None = None,
              id_column: str = "clip_id") -> dict:
    """`table`: the revision's rows (joined with a run's metrics or not); `video`: the clip's row of the videos
    table; `dynamics`: the run's per-draw dynamics (all epochs)."""
    found = table.filter(pc.field(id_column) == clip_id)
    if found.num_rows == 0:
        raise NotFound(f"no clip {clip_id!r} in this revision", "pick a clip of the revision shown")
    row = json_row(found.to_pylist()[0])
    siblings = table.filter(pc.field("video_id") == row["video_id"]).sort_by("end_frame")
    prob = "eval_prob" if "eval_prob" in siblings.column_names else "prob" if "prob" in siblings.column_names else None
    timeline = [{"id": r[id_column], "t": r["end_time_s"], "label": r.get("label"), "weight": r.get("weight"),
                 "prob": r.get(prob) if prob else None} for r in map(json_row, siblings.to_pylist())]
    order = [c["id"] for c in timeline]
    k = order.index(clip_id)
    video = video or {}
    fps = video.get("fps") or (row["end_frame"] / row["end_time_s"] if row.get("end_time_s") else 10.0)
    frames = frame_indices(row["end_frame"], row["stride"], row["n_frames"])
    clock = (Timeline.of_video(video) if video.get("fps") and video.get("n_frames")
             else Timeline(fps, row["end_frame"] + 1))  # no videos row: its rate alone
    times = clock.times_of(frames)  # the frames' own times: a variable rate plays at its pace
    return {"clip": row, "frames": clip_frames(row), "fps": fps, "frame_times_s": [round(float(t), 4) for t in times],
            "frame_step_s": (times[-1] - times[0]) / max(1, len(times) - 1) or row["stride"] / fps,
            "video": {k: v for k, v in json_row(video).items() if k not in ("path", "frame_times_s")},
            "duration_s": video.get("duration_s") or max(c["t"] for c in timeline),
            "marks": _marks(video), "timeline": timeline, "prob_column": prob,
            "previous": order[k - 1] if k > 0 else None, "next": order[k + 1] if k + 1 < len(order) else None,
            "epochs": _epochs(dynamics, clip_id)}


def _marks(video: dict) -> list[dict]:
    marks = [{"name": c.removeprefix("time_of_"), "t": video[c]} for c in MARK_COLUMNS if video.get(c) is not None]
    if video.get("events"):
        marks += [{"name": "event", "t": t} for t in json.loads(video["events"])]
    return [m for m in marks if m["t"] == m["t"]]  # NaN: no time


def _epochs(dynamics: pa.Table | None, clip_id: str) -> list[dict]:
    """Mean loss and probability of the clip's draws per epoch."""
    if dynamics is None:
        return []
    mine = dynamics.filter(pc.field("clip_id") == clip_id)
    per_epoch = mine.group_by("epoch").aggregate([("loss", "mean"), ("prob", "mean"), ("epoch", "count")])
    rows = per_epoch.rename_columns(["epoch", "loss", "prob", "draws"]).sort_by("epoch").to_pylist()
    return [json_row(r) for r in rows]
