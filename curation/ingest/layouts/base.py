"""What every layout shares: the entries a reader returns (`Source` of `VideoEntry`), the checks readers make,
and `Layout`, the object a layout is — how its videos become clips, which label fields its videos table keeps,
and how a curated revision is written back in its files. The defaults are a class layout's (folders, manifest):
windowed clips labelled by their video, a start/end segment per video, exported as a manifest CSV."""
from __future__ import annotations

import csv
import io
import os
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa

from curation.csvio import nonneg_float, read_rows
from curation.errors import BadInput, NotFound
from curation.frames.video import Probe
from curation.fsutil import write_output
from curation.ingest.clips import anchors


TIME_MATCH_S = 1e-3  # a labelled time given back (an edit's old time) matches within this: CSVs round


@dataclass
class VideoEntry:
    video_id: str
    path: str  # relative to the source root, or absolute
    label: int | None = None  # class index (Nexar: target)
    split: str | None = None  # given by the layout (test, or a manifest's split) or assigned later
    group: str = ""  # videos of one group never straddle train and val
    event_s: float | None = None
    alert_s: float | None = None
    start_s: float | None = None  # a manifest segment of the file
    end_s: float | None = None
    extra: dict = field(default_factory=dict)  # layout columns its clips carry (QA: question, choices, answer)
    events: tuple[float, ...] = ()  # event timestamps (seconds), for the events layout
    weight: float = 1.0  # the training weight its clips start with (formats that carry weights: hf, kinetics-csv)


@dataclass
class Source:
    kind: str  # the layout's name (LAYOUTS)
    root: Path
    classes: list[str]
    videos: list[VideoEntry]
    input_files: list[Path] = field(default_factory=list)  # CSVs whose bytes define the input
    params: dict = field(default_factory=dict)  # layout settings that shape samples (part of the fingerprint)
    reader: dict = field(default_factory=dict)  # how to read it again: {"name", "path", "args"} (ingest.reread)

    @property
    def layout(self) -> Layout:
        from curation.ingest.layouts import LAYOUTS

        return LAYOUTS[self.kind]

    @property
    def event_task(self) -> bool:
        return self.layout.event_task

    @property
    def label_column(self) -> str:
        return "target" if self.event_task else "label"


class Layout:
    name = ""
    event_task = False  # labels are event (and alert) times: a label rule, τ windows, a test table, mAP
    one_clip_each = False  # each entry is one sample: one clip spanning its segment evenly (QA)
    times_are_labels = False  # videos are labelled with event times (labelled_times): predict-events scores them
    extra_columns: tuple[str, ...] = ()  # string columns of VideoEntry.extra the clips table carries
    export_format = "manifest-csv"  # what `curate export` writes by default
    submission: str | None = None  # the competition file a run can be submitted as

    @property
    def class_videos(self) -> bool:
        """Each video has one class label (folders, manifest): what class-video formats (kinetics-csv, class
        folders, hf, fiftyone) can hold."""
        return not (self.event_task or self.one_clip_each)

    def labelled_times(self, video: dict) -> list[float] | None:
        """The event times a videos-table row labels (seconds), or None for a layout whose labels are not times."""
        return None

    def alert_time(self, video: dict) -> float | None:
        """When the event became foreseeable (Nexar's time_of_alert), if the layout labels one."""
        return None

    def retime(self, v: VideoEntry, old: float, new: float) -> VideoEntry | None:
        """The entry with its labelled time `old` moved to `new` (seconds); None when it has no time at `old`."""
        return None

    def video_columns(self) -> list[tuple[str, pa.DataType]]:
        """The videos table's columns beyond the common ones and the label."""
        return [("start_s", pa.float32()), ("end_s", pa.float32())]

    def video_values(self, v: VideoEntry) -> dict:
        return {"start_s": v.start_s, "end_s": v.end_s}

    def too_short(self, probe: Probe, why: str) -> Probe:
        """A video with fewer frames than one clip spans: a class video gives no clip."""
        return replace(probe, status="unsupported", reason=why)

    def clips(self, v: VideoEntry, probe: Probe, options, rule, params: dict, fold: int) -> list[dict]:
        """The clip rows of one readable video: clips ending at anchors over its segment, labelled by it."""
        cfg, fps, timeline = options.clip, probe.fps, probe.timeline
        first = timeline.nearest(v.start_s) if v.start_s is not None else 0
        last = probe.n_frames - 1
        if v.end_s is not None:
            last = min(last, timeline.last_before(v.end_s))
        span = (cfg.n_frames - 1) * cfg.stride_for(fps)
        ends = {a: None for a in anchors(probe.n_frames, cfg.anchor_step(fps), min_end=first + span, last=last)}
        return [clip_row(v, end, probe, cfg, fold, v.label) for end in sorted(ends)]

    def write(self, task, samples: list[dict], videos: dict, out: Path) -> list[Path]:
        """path,label,split,start_s,end_s: one row per kept video (its clips' most common label), paths relative
        to the manifest's folder."""
        rows = []
        for video_id, label in sorted(video_labels(samples).items()):
            v = videos[video_id]
            rows.append([relative_path(task, v, out), "" if label is None else task.classes[label], v["split"] or "",
                         number(v.get("start_s")), number(v.get("end_s"))])
        return [write_text(out, csv_text(["path", "label", "split", "start_s", "end_s"], rows))]


def clip_row(v: VideoEntry, end: int, probe: Probe, cfg, fold: int, label: int | None, window: str | None = None,
             time_to_event: float | None = None) -> dict:
    return {"clip_id": f"{v.video_id}:{end}", "video_id": v.video_id, "split": v.split, "fold": fold,
            "end_frame": end, "stride": cfg.stride_for(probe.fps), "n_frames": cfg.n_frames,
            "end_time_s": round(probe.timeline.time_of(end), 4), "time_to_event_s": time_to_event, "label": label,
            "weight": v.weight, "eval_window": window}


# -- what readers check ------------------------------------------------------------------------------------
def time_of(row: dict, column: str, path: Path) -> float | None:
    value = row.get(column, "")
    return None if value == "" else nonneg_float(value, f"{path.name} line {row['_line']}: {column}")


def check_root(root: Path) -> Path:
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise BadInput(f"dataset root {root} is a file, not a folder", "give the folder that holds the dataset")
    if not root.is_dir():
        raise NotFound(f"dataset root {root} does not exist", "give the folder that holds the dataset")
    return root


def class_rows(csv_path: Path, required: list[str], what: str, row_is: str) -> tuple[list[dict], list[str]]:
    """The rows of a CSV that labels each row with a class name, and its classes (sorted; two or more, none
    empty). `row_is` says what one row is, for the message of an empty file."""
    rows = read_rows(csv_path, required, what)
    if not rows:
        raise BadInput(f"{csv_path.name} has no rows", f"add one row per {row_is}")
    classes = sorted({r["label"] for r in rows})
    if len(classes) < 2 or "" in classes:
        raise BadInput(f"{csv_path.name} needs a non-empty label on every row and at least two classes",
                       "fix the label column")
    return rows, classes


def check_unique(videos: list[VideoEntry], what: Path) -> None:
    seen = set()
    for v in videos:
        if v.video_id in seen:
            raise BadInput(f"{what.name}: video id {v.video_id!r} appears twice", "ids must be unique")
        seen.add(v.video_id)


def split_of(row: dict, where: str) -> str | None:
    """A row's optional split column: train, val, test, or empty (assigned at ingest)."""
    split = row.get("split", "") or None
    if split not in (None, "train", "val", "test"):
        raise BadInput(f"{where}: split {split!r} is not train, val or test", "fix the CSV")
    return split


# -- what writers share -----------------------------------------------------------------------------------
def write_text(path: Path, text: str) -> Path:
    return write_output(path, text.encode())


def kept_videos(samples: list[dict]) -> dict[str, Counter]:
    """video_id → how often each label occurs among its kept clips."""
    kept: dict[str, Counter] = {}
    for s in samples:
        kept.setdefault(s["video_id"], Counter())[s["label"]] += 1
    return kept


def video_labels(samples: list[dict]) -> dict[str, int | None]:
    """video_id → the label a video-level file gives the video: its kept clips' most common label."""
    return {video: labels.most_common(1)[0][0] for video, labels in kept_videos(samples).items()}


def relative_path(task, video: dict, out: Path) -> str:
    """A video's path relative to the folder of the file written, as the layouts read paths back."""
    return Path(os.path.relpath(Path(task.root) / video["path"], out.resolve().parent)).as_posix()


def csv_text(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def number(value) -> str:
    return "" if value is None else f"{value:g}"
