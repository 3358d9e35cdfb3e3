"""`activitynet-json`: ActivityNet's annotation JSON for an events dataset — `{"database": {"<video>": {"subset":
"training"|"validation"|"testing", "duration": s, "annotations": [{"segment": [start, end], "label": "event"}]}}}`,
each event timestamp a point segment [t, t]; the video's `path` (relative to the JSON's folder) and `group` ride
along as extra keys, the provenance under "curate". `curate ingest activitynet-json` reads it back as event
timestamps: a segment's start is its event (an action's onset)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from curation.csvio import nonneg_float
from curation.errors import BadInput
from curation.fsutil import json_bytes, read_json, write_output
from curation.ingest.layouts.base import Source, VideoEntry, check_unique, kept_videos
from curation.ingest.layouts.events import EVENT_CLASSES, check_windows
from curation.interop.base import Curated, Format, split_name

SUBSETS = {"train": "training", "val": "validation", "test": "testing"}


class ActivityNetJson(Format):
    name = "activitynet-json"
    consumer = "ActivityNet-style temporal tools (evaluation kits, mmaction2 / PyTorchVideo localization loaders)"
    folder = False
    video_labels = "times"
    weights = False

    def holds(self, layout) -> bool:
        return layout.name == "events"

    def write(self, curated: Curated, out: Path, copy: bool) -> list[Path]:
        database = {}
        for video_id in sorted(kept_videos(curated.samples)):
            v = curated.videos[video_id]
            events = json.loads(v["events"] or "[]")
            database[video_id] = {
                "subset": SUBSETS.get(v["split"], v["split"] or ""), "duration": v.get("duration_s"),
                "annotations": [{"segment": [t, t], "label": EVENT_CLASSES[1]} for t in events],
                "path": Path(os.path.relpath(curated.media(video_id), out.resolve().parent)).as_posix(),
                "group": v["group"]}
        document = {"version": "curate activitynet-json 1", "database": database, "curate": curated.provenance}
        return [write_output(out, json_bytes(document))]


def read_activitynet(json_path: str | Path, alpha: float = 0.1, beta: float = 0.1,
                     negatives_per_positive: float = 3.0) -> Source:
    """An ActivityNet-style JSON as event timestamps (the events layout's windows: see read_events). A video's
    file is its `path` (relative to the JSON's folder), else `<video id>.mp4` beside the JSON."""
    json_path = Path(json_path)
    check_windows(alpha, beta, negatives_per_positive)
    document = read_json(json_path, "give an ActivityNet-style JSON with a \"database\" object")
    database = document.get("database") if isinstance(document, dict) else None
    if not isinstance(database, dict) or not database:
        raise BadInput(f"{json_path.name} has no \"database\" object of videos", "give an ActivityNet-style JSON")
    subsets = {v: k for k, v in SUBSETS.items()}
    videos = []
    for video_id, entry in database.items():
        where = f"{json_path.name} video {video_id!r}"
        if not isinstance(entry, dict):
            raise BadInput(f"{where} is not an object", "give each video an object with its annotations")
        events = []
        for a in entry.get("annotations") or []:
            segment = a.get("segment") if isinstance(a, dict) else None
            if not isinstance(segment, list) or len(segment) != 2:
                raise BadInput(f"{where}: an annotation without a [start, end] segment", "fix the JSON")
            events.append(nonneg_float(segment[0], f"{where}: segment start", "fix the JSON"))
        subset = entry.get("subset") or None
        videos.append(VideoEntry(video_id, entry.get("path") or f"{video_id}.mp4", label=int(bool(events)),
                                 split=split_name(subsets.get(subset, subset), where),
                                 group=str(entry.get("group") or video_id), events=tuple(sorted(set(events)))))
    check_unique(videos, json_path)
    params = {"alpha": alpha, "beta": beta, "negatives_per_positive": negatives_per_positive}
    return Source("events", json_path.parent, EVENT_CLASSES, videos, [json_path], params,
                  reader={"name": "activitynet-json", "path": str(json_path), "args": params})
