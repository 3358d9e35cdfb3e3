"""`curate predict-events`: a run's score curves over whole videos turned into event times and scored against
the labelled ones — precision, recall and F1 within ±0.25/0.5/1 s and the mean absolute time error; for Nexar
(events at the curve's rises, `times.EventPicker`) also the rise against the labelled alert time. The threshold
(and Nexar's rise-to-event offset) is the one with the best F1 at ±0.5 s on the val videos (so val figures are
optimistic; test figures are not); curves are stored with the run, the result under its evaluations, and a
static HTML page of every video's timeline beside them."""
from __future__ import annotations

import time

import numpy as np

from curation.errors import BadInput
from curation.events.curves import score_curves
from curation.events.report import events_report
from curation.events.stored import curves_by_video
from curation.events.times import EventPicker, event_metrics, fit_picker
from curation.ingest.clips import ClipConfig
from curation.ingest.layouts import LAYOUTS
from curation.jsonsafe import json_value
from curation.runs.protocol import CollectionKey
from curation.task import SAMPLES, TEST
from curation.train.predict import load_predictor


def predict_events(ws, run_ref: str, table_ref: str | None = None, step_frames: int = 0, min_gap_s: float = 1.0,
                   checkpoint: str = "best", progress: bool = True, splits: tuple[str, ...] = ()) -> dict:
    """Score curves of every video of `table_ref` (default: the revision the run trained on) — of those `splits`
    only, when given — predicted event times, and event metrics per split; recorded in the run under
    `evaluations["events:<name>"]`, <name> the revision's `CollectionKey` (its curves are stored under it too)."""
    if step_frames < 0 or not min_gap_s > 0:
        raise BadInput(f"step {step_frames} / minimum gap {min_gap_s} s is invalid",
                       "use a step of 0 (one stride) or more and a gap above 0 seconds")
    run = ws.runs.resolve(run_ref)
    record = ws.runs.record(run)
    revision = ws.resolve(table_ref) if table_ref else record.trained_on(ws.tables)
    task = ws.task(revision.dataset)
    task.require(ws.tables, revision, (SAMPLES, TEST), "event times are predicted for the videos of clips")
    layout = LAYOUTS[task.layout]
    if not layout.times_are_labels:
        raise BadInput(f"dataset {task.dataset} labels classes, not times ({task.layout} layout)",
                       "predict event times on an events or Nexar dataset")
    in_revision = set(ws.tables.read(revision, ["video_id"])["video_id"].to_pylist())
    videos = [v for v in ws.tables.read(task.videos_at(ws.tables, record.inputs.videos_of(task.dataset))).to_pylist()
              if v["video_id"] in in_revision and (not splits or v.get("split") in splits)]
    if not videos:
        raise BadInput(f"{revision.ref} has no videos of split {' or '.join(splits)}", "pick splits it has")
    labelled = {v["video_id"]: times for v in videos if (times := layout.labelled_times(v)) is not None}
    predictor, record, _ = load_predictor(ws, run, checkpoint, progress)
    curves, skipped = score_curves(predictor, videos, task.root, ClipConfig(**task.options["clip"]),
                                   task.frame_size, step_frames, progress)
    name = str(CollectionKey.of(revision, home=record.inputs.dataset))  # another dataset's clips@1 is not ours
    ws.runs.write_curves(run, name, curves)
    by_video = curves_by_video(curves)
    split_of = {v["video_id"]: v.get("split") for v in videos}
    val = {v: c for v, c in by_video.items() if split_of[v] == "val" and v in labelled}
    by_onsets = task.event_task  # Nexar: the curve rises at the alert and plateaus past the event
    picker = fit_picker(val, {v: labelled[v] for v in val}, min_gap_s, by_onsets) if val else \
        EventPicker(0.5, min_gap_s, 0.0 if by_onsets else None)
    predicted = {v: picker.times(t, s) for v, (t, s) in by_video.items()}
    metrics = {}
    for split in sorted({split_of[v] for v in labelled if v in by_video and split_of[v]}):
        truth = {v: times for v, times in labelled.items() if split_of[v] == split and v in by_video}
        metrics[split] = event_metrics(predicted, truth)
        alerts = _alert_errors(layout, videos, truth, predicted, picker)
        if alerts is not None:
            metrics[split]["alert_mae_s"] = alerts
    result = {"table": revision.ref, "checkpoint": checkpoint, "threshold": picker.threshold, "min_gap_s": min_gap_s,
              "offset_s": picker.offset_s,
              "step_frames": step_frames, "videos": len(by_video), "metrics": json_value(metrics),
              "threshold_from": (chosen := "val" if val else "default 0.5 (no labelled val video)"),
              "picked": picker.describe(chosen),
              "predicted": {v: [round(t, 3) for t in times] for v, times in predicted.items()},
              "skipped": [list(s) for s in skipped][:50], "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    page = events_report(run, result, by_video, {v["video_id"]: v for v in videos}, layout)
    ws.runs.write_file(run, f"events-{name}.html", page)
    result["report"] = ws.runs.uri(run, f"events-{name}.html")
    record.evaluations[f"events:{name}"] = result
    ws.runs.write_record(run, record)
    return result


def _alert_errors(layout, videos, truth, predicted, picker: EventPicker) -> float | None:
    """Mean |predicted onset − labelled alert| over the positive videos with an alert time and a predicted event,
    where events are picked at the curve's rises (the onset is the rise the first event came from)."""
    alerts = {v["video_id"]: a for v in videos if v["video_id"] in truth and truth[v["video_id"]]
              and (a := layout.alert_time(v)) is not None}
    errors = [abs(picker.onset_of(predicted[video][0]) - alert) for video, alert in alerts.items()
              if predicted.get(video) and picker.offset_s is not None]
    return float(np.mean(errors)) if errors else None
