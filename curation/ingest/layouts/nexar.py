"""Nexar dashcam collision prediction: `train.csv` (id,time_of_event,time_of_alert,target) + `test.csv` (id),
videos in train/ and test/. Labels are event times: a clip's label follows a label rule on its time to the event,
validation scores the windows ending τ before the event (and the last frame of negatives) as the competition's
test set is cut, and the test videos (one final-window clip each) form their own table."""
from __future__ import annotations

import math

from dataclasses import replace
from pathlib import Path

import pyarrow as pa

from curation.csvio import read_rows
from curation.errors import BadInput
from curation.frames.video import Probe
from curation.ingest.clips import EVAL_TAUS, anchors
from curation.ingest.layouts.base import (TIME_MATCH_S, Layout, Source, VideoEntry, check_root, check_unique, clip_row,
                                          csv_text, kept_videos, number, time_of, write_text)

NEXAR_CLASSES = ["normal", "collision"]


class Nexar(Layout):
    name = "nexar"
    event_task = True
    times_are_labels = True
    export_format = "nexar-csv"
    submission = "nexar-csv"

    def video_columns(self) -> list[tuple[str, pa.DataType]]:
        return [("time_of_event", pa.float32()), ("time_of_alert", pa.float32())]

    def video_values(self, v: VideoEntry) -> dict:
        return {"time_of_event": v.event_s, "time_of_alert": v.alert_s}

    def labelled_times(self, video: dict) -> list[float] | None:
        """A positive video's collision time; a negative has none; a test video (no target) is unlabelled."""
        if video.get("target") is None:
            return None
        event = video.get("time_of_event")
        return [float(event)] if video["target"] == 1 and event is not None and not math.isnan(event) else []

    def retime(self, v: VideoEntry, old: float, new: float) -> VideoEntry | None:
        """The event moved, and its alert with it by as much (an annotator early or late moves both)."""
        if v.event_s is None or abs(v.event_s - old) > TIME_MATCH_S:
            return None
        return replace(v, event_s=new, alert_s=None if v.alert_s is None else max(0.0, v.alert_s + new - old))

    def alert_time(self, video: dict) -> float | None:
        alert = video.get("time_of_alert")
        return None if alert is None or math.isnan(alert) else float(alert)

    def too_short(self, probe: Probe, why: str) -> Probe:
        """Kept, with a warning: its clips repeat the first frame, as the competition's test clips do."""
        return replace(probe, reason=f"{why}: its clips repeat the first frame")

    def clips(self, v: VideoEntry, probe: Probe, options, rule, params: dict, fold: int) -> list[dict]:
        cfg, fps, timeline = options.clip, probe.fps, probe.timeline
        span = (cfg.n_frames - 1) * cfg.stride_for(fps)
        last = probe.n_frames - 1
        windows: dict[int, str | None] = {}
        if v.split == "test":
            windows[last] = "final"  # the competition scores the clip ending at the last frame
        else:
            if v.event_s is not None:
                last = min(last, timeline.last_at_or_before(v.event_s))  # clips after the event are dropped
            for a in anchors(probe.n_frames, cfg.anchor_step(fps), min_end=span, last=last):
                windows[a] = None
            if v.label is not None:
                if v.event_s is not None:  # windows ending tau before the event, as the test set is cut
                    for tau in EVAL_TAUS:
                        end = timeline.nearest(v.event_s - tau)
                        if v.event_s - tau >= -timeline.frame_step_s / 2 and end <= last:  # in the video
                            windows[end] = f"tau_{tau:.1f}"
                else:
                    windows[last] = "final"
        rows = []
        for end in sorted(windows):
            t = timeline.time_of(end)
            label = None if v.label is None else rule.label(t, v.event_s, v.alert_s)
            rows.append(clip_row(v, end, probe, cfg, fold, label, windows[end],
                                 None if v.event_s is None else round(v.event_s - t, 4)))
        return rows

    def write(self, task, samples: list[dict], videos: dict, out: Path) -> list[Path]:
        """train.csv (id,time_of_event,time_of_alert,target) of the kept labelled videos."""
        kept = kept_videos(samples)
        rows = [[vid, number(v.get("time_of_event")), number(v.get("time_of_alert")), v["target"]]
                for vid, v in sorted(videos.items()) if vid in kept and v["split"] != "test"]
        return [write_text(out, csv_text(["id", "time_of_event", "time_of_alert", "target"], rows))]


def read_nexar(root: str | Path) -> Source:
    """`train.csv` (id,time_of_event,time_of_alert,target) + `test.csv` (id); videos in train/ and test/."""
    root = check_root(Path(root))
    train_csv, test_csv = root / "train.csv", root / "test.csv"
    videos = []
    for row in read_rows(train_csv, ["id", "target"], "nexar train.csv"):
        line = row["_line"]
        if row["target"] not in ("0", "1"):
            raise BadInput(f"train.csv line {line}: target {row['target']!r} is not 0 or 1", "fix the CSV")
        target = int(row["target"])
        event, alert = time_of(row, "time_of_event", train_csv), time_of(row, "time_of_alert", train_csv)
        if target == 1 and event is None:
            raise BadInput(f"train.csv line {line}: positive video {row['id']} has no time_of_event",
                           "give the event time in seconds")
        if not row["id"]:
            raise BadInput(f"train.csv line {line}: empty id", "fix the CSV")
        if target == 1 and alert is not None and alert > event:
            raise BadInput(f"train.csv line {line}: video {row['id']} has its alert ({alert:g} s) after its event "
                           f"({event:g} s)", "the alert comes before the event: fix the times")
        videos.append(VideoEntry(row["id"], f"train/{row['id']}.mp4", label=target, group=row["id"],
                                 event_s=event if target else None, alert_s=alert if target else None))
    if not videos:
        raise BadInput(f"{train_csv} has no rows", "add one row per training video")
    inputs = [train_csv]
    if test_csv.exists():
        inputs.append(test_csv)
        for row in read_rows(test_csv, ["id"], "nexar test.csv"):
            if not row["id"]:
                raise BadInput(f"test.csv line {row['_line']}: empty id", "fix the CSV")
            videos.append(VideoEntry(row["id"], f"test/{row['id']}.mp4", split="test", group=row["id"]))
    check_unique(videos, train_csv)
    return Source("nexar", root, NEXAR_CLASSES, videos, inputs, reader={"name": "nexar", "path": str(root)})
