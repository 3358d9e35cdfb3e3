"""Event timestamps (e.g. split-timer GoPro runs): a CSV with a row per event of each video; clips are positive
near an event, negative away from every event. Exported back as the same CSV."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from curation.csvio import read_rows
from curation.errors import BadInput
from curation.frames.video import Probe
from curation.ingest.clips import anchors
from curation.ingest.layouts.base import (TIME_MATCH_S, Layout, Source, VideoEntry, check_unique, clip_row, csv_text,
                                          kept_videos, number, relative_path, split_of, time_of, write_text)


class Events(Layout):
    name = "events"
    times_are_labels = True
    export_format = "events-csv"

    def video_columns(self) -> list[tuple[str, pa.DataType]]:
        return super().video_columns() + [("events", pa.string()), ("group", pa.string())]  # times (JSON); group

    def video_values(self, v: VideoEntry) -> dict:
        return {**super().video_values(v), "events": json.dumps(list(v.events)), "group": v.group}

    def labelled_times(self, video: dict) -> list[float]:
        return [float(t) for t in json.loads(video.get("events") or "[]")]

    def retime(self, v: VideoEntry, old: float, new: float) -> VideoEntry | None:
        hits = [t for t in v.events if abs(t - old) <= TIME_MATCH_S]
        if not hits:
            return None
        return replace(v, events=tuple(sorted({*(t for t in v.events if t != hits[0]), new})))

    def clips(self, v: VideoEntry, probe: Probe, options, rule, params: dict, fold: int) -> list[dict]:
        """Positives ending in an event's window (and one ending at each event), negatives ending outside twice
        the windows, at most `negatives_per_positive` per positive (see read_events)."""
        cfg = options.clip
        fps, stride, timeline = probe.fps, cfg.stride_for(probe.fps), probe.timeline
        span, duration = (cfg.n_frames - 1) * stride, timeline.duration_s
        bounds = [0.0, *v.events, duration]
        windows = [(e - params["alpha"] * (e - before), e + params["beta"] * (after - e))
                   for before, e, after in zip(bounds, bounds[1:], bounds[2:])]

        def within(t: float, scale: float) -> bool:
            return any(e - scale * (e - lo) <= t <= e + scale * (hi - e) for (lo, hi), e in zip(windows, v.events))

        ends = set(anchors(probe.n_frames, cfg.anchor_step(fps), min_end=span))
        ends |= {timeline.nearest(e) for e in v.events}
        positives = sorted(end for end in ends if within(timeline.time_of(end), 1.0))
        negatives = sorted(end for end in ends if not within(timeline.time_of(end), 2.0))
        cap = int(np.ceil(params["negatives_per_positive"] * max(1, len(positives))))
        if len(negatives) > cap:  # evenly spread over the video, the same on every run
            negatives = [negatives[i] for i in np.linspace(0, len(negatives) - 1, cap).round().astype(int)]
        rows = []
        for end, label in sorted([(e, 1) for e in positives] + [(e, 0) for e in negatives]):
            t = timeline.time_of(end)
            nearest = min(v.events, key=lambda e: abs(e - t)) if v.events else None
            rows.append(clip_row(v, end, probe, cfg, fold, label,
                                 time_to_event=None if nearest is None else round(nearest - t, 4)))
        return rows

    def write(self, task, samples: list[dict], videos: dict, out: Path) -> list[Path]:
        """path,group,split,event_s: a row per event of each kept video (one with an empty event_s for a video
        without events), paths relative to the CSV's folder; `read_events` reads it back."""
        rows = []
        for video_id in sorted(kept_videos(samples)):
            v = videos[video_id]
            path = relative_path(task, v, out)
            events = json.loads(v["events"] or "[]")
            rows += [[path, v["group"], v["split"] or "", number(t)] for t in events] or \
                [[path, v["group"], v["split"] or "", ""]]
        return [write_text(out, csv_text(["path", "group", "split", "event_s"], rows))]


EVENT_CLASSES = ["background", "event"]


def check_windows(alpha: float, beta: float, negatives_per_positive: float) -> None:
    for name, value, ok in (("alpha", alpha, 0 < alpha <= 0.5), ("beta", beta, 0 < beta <= 0.5),
                            ("negatives per positive", negatives_per_positive, negatives_per_positive > 0)):
        if not ok:
            raise BadInput(f"{name} = {value!r} is invalid", "use a fraction in (0, 0.5]" if name != \
                           "negatives per positive" else "use a number above 0, e.g. 3")


def read_events(csv_path: str | Path, alpha: float = 0.1, beta: float = 0.1,
                negatives_per_positive: float = 3.0) -> Source:
    """Event timestamps (e.g. split-timer GoPro runs): CSV `path,group,event_s`, one row per event (a row with an
    empty event_s lists a video without events); `group` (track, rider) keeps a group's videos in one split.
    A clip is positive when it ends within an event's window — `alpha` of the gap to the previous event before
    it, `beta` of the gap to the next one after it — negative when it ends outside twice that window, and a
    video keeps at most `negatives_per_positive` negatives per positive (evenly spread). An optional `split`
    column (train, val, test; as `curate export` writes it) fixes a video's split."""
    csv_path = Path(csv_path)
    check_windows(alpha, beta, negatives_per_positive)
    rows = read_rows(csv_path, ["path", "group", "event_s"], "events")
    if not rows:
        raise BadInput(f"{csv_path.name} has no rows", "add one row per event (or per video without events)")
    by_path: dict[str, tuple[str, str | None, list[float]]] = {}
    for row in rows:
        where = f"{csv_path.name} line {row['_line']}"
        if not row["path"] or not row["group"]:
            raise BadInput(f"{where}: empty path or group", "give every row its video and its group")
        split = split_of(row, where)
        group, first_split, events = by_path.setdefault(row["path"], (row["group"], split, []))
        if (group, first_split) != (row["group"], split):
            raise BadInput(f"{where}: {row['path']} is in group {row['group']!r} / split {split!r} here and "
                           f"{group!r} / {first_split!r} before", "give each video one group and one split")
        event = time_of(row, "event_s", csv_path)
        if event is not None:
            events.append(event)
    videos = [VideoEntry(path.rsplit(".", 1)[0], path, label=int(bool(events)), split=split, group=group,
                         events=tuple(sorted(set(events)))) for path, (group, split, events) in by_path.items()]
    check_unique(videos, csv_path)
    params = {"alpha": alpha, "beta": beta, "negatives_per_positive": negatives_per_positive}
    return Source("events", csv_path.parent, EVENT_CLASSES, videos, [csv_path], params,
                  reader={"name": "events", "path": str(csv_path), "args": params})
