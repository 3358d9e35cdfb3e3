"""`fiftyone`: FiftyOne's FiftyOneTemporalDetectionDataset — data/<video> (links or copies) and labels.json
`{"classes": [...], "labels": {"<name>": [{"label": <class index>, "support": [first, last], "attributes":
{...}}]}}`, one temporal detection per kept clip: its frames as the support (1-based, inclusive, as FiftyOne
counts), and its id, split, weight and the run's metrics as attributes (fields of each detection in FiftyOne).
Datasets labelled by times also get their labels as detections of their own, after the clips' classes: each
event time a one-frame `event` detection, and Nexar's alert→event span an `alert to event` detection (attribute
`mark`), so FiftyOne shows where the labels are.
Load it with `fo.Dataset.from_dir(folder, fo.types.FiftyOneTemporalDetectionDataset)`; `curate ingest fiftyone`
reads it back. The provenance sits beside the labels under "curate", which FiftyOne ignores."""
from __future__ import annotations

from pathlib import Path

from curation.errors import BadInput, NotFound
from curation.fsutil import json_bytes, read_json, write_output
from curation.frames.timeline import Timeline
from curation.frames.video import VIDEO_EXTENSIONS
from curation.ingest.layouts import LAYOUTS
from curation.ingest.layouts.base import Source
from curation.interop.base import (Curated, Format, check_weight, clip_start, flat_name, place_media, split_name,
                                   videos_of_clips)


class FiftyOneTemporal(Format):
    name = "fiftyone"
    consumer = "FiftyOne: fo.Dataset.from_dir(DIR, dataset_type=fo.types.FiftyOneTemporalDetectionDataset)"

    metric_columns = True

    def holds(self, layout) -> bool:
        return True  # a detection per clip holds every layout's labels; labelled times become detections too

    def write(self, curated: Curated, out: Path, copy: bool) -> list[Path]:
        layout = LAYOUTS[curated.task.layout]
        classes = list(curated.task.classes) + (list(MARKS) if layout.times_are_labels else [])
        labels: dict[str, list[dict]] = {}
        names: dict[str, str] = {}
        for s in curated.samples:
            if s["video_id"] not in names:
                media = curated.media(s["video_id"])
                names[s["video_id"]] = flat_name(s["video_id"])
                place_media(media, out / "data" / (names[s["video_id"]] + media.suffix.lower()), copy)
                labels[names[s["video_id"]]] = _marks(layout, curated.videos[s["video_id"]], classes)
            first = clip_start(s)
            video = curated.videos[s["video_id"]]
            attributes = {"clip_id": s["clip_id"], "video_id": s["video_id"], "split": s["split"],
                          "weight": s["weight"], "video_start_s": video.get("start_s"),
                          "video_end_s": video.get("end_s"), **curated.metrics.get(s["clip_id"], {})}
            labels.setdefault(names[s["video_id"]], []).append(
                {"label": s["label"], "support": [first + 1, s["end_frame"] + 1], "attributes": attributes})
        document = {"classes": classes, "labels": labels, "curate": curated.provenance}
        return [write_output(out / "labels.json", json_bytes(document))] + sorted((out / "data").iterdir())


MARKS = ("event", "alert to event")  # the classes of the labelled-time detections, after the clips' classes


def _marks(layout, video: dict, classes: list[str]) -> list[dict]:
    """A video's labelled times as detections (1-based frames, as FiftyOne counts): each event on its frame, and
    the alert→event span where the layout labels an alert."""
    times = layout.labelled_times(video) or []
    if not times:
        return []
    timeline = Timeline.of_video(video)
    marks = [{"label": classes.index("event"), "support": [timeline.nearest(t) + 1] * 2,
              "attributes": {"video_id": video["video_id"], "mark": "event", "time_s": t}} for t in times]
    alert = layout.alert_time(video)
    if alert is not None:
        marks.append({"label": classes.index("alert to event"),
                      "support": [timeline.nearest(alert) + 1, timeline.nearest(times[0]) + 1],
                      "attributes": {"video_id": video["video_id"], "mark": "alert to event", "time_s": alert}})
    return marks


def read_fiftyone(folder: str | Path) -> Source:
    """A FiftyOneTemporalDetectionDataset folder: each detection is a clip (its label; `split`, `weight`,
    `video_id` and the video segment from its attributes when present), each video one video of the dataset."""
    folder = Path(folder)
    labels_file = folder / "labels.json"
    if not labels_file.is_file():
        raise NotFound(f"{folder} has no labels.json",
                       "give the folder of a FiftyOne temporal detection dataset (data/ and labels.json)")
    document = read_json(labels_file, "give the labels.json FiftyOne or curate wrote")
    classes = document.get("classes") if isinstance(document, dict) else None
    if not isinstance(classes, list) or len(classes) < 2 or not isinstance(document.get("labels"), dict):
        raise BadInput(f"{labels_file} needs a \"classes\" list (two or more) and a \"labels\" object",
                       "give the labels.json of a FiftyOneTemporalDetectionDataset")
    media = {p.stem: p.relative_to(folder).as_posix() for p in sorted((folder / "data").glob("*"))
             if p.suffix.lower() in VIDEO_EXTENSIONS}
    rows = []
    for name, detections in sorted(document["labels"].items()):
        if name not in media:
            raise NotFound(f"{labels_file.name}: no video data/{name}.* for its labels", "put the video in data/")
        for k, d in enumerate(detections if isinstance(detections, list) else []):
            where = f"{labels_file.name} {name} detection {k}"
            attributes = d.get("attributes") or {}
            if attributes.get("mark"):
                continue  # a labelled time curate wrote beside the clips, not a clip
            label = d.get("label")
            label = classes.index(label) if label in classes else label
            if not isinstance(label, int) or not 0 <= label < len(classes):
                raise BadInput(f"{where}: label {d.get('label')!r} is not one of the classes", "fix labels.json")
            rows.append({"video_id": attributes.get("video_id") or name, "path": media[name], "label": label,
                         "split": split_name(attributes.get("split"), where),
                         "weight": check_weight(attributes.get("weight", 1.0), where),
                         "start_s": attributes.get("video_start_s"), "end_s": attributes.get("video_end_s")})
    if not rows:
        raise BadInput(f"{labels_file} labels no video", "give a dataset with labelled videos")
    classes = classes[:-len(MARKS)] if tuple(classes[-len(MARKS):]) == MARKS else classes
    return Source("manifest", folder, [str(c) for c in classes], videos_of_clips(rows, labels_file.name),
                  [labels_file])
