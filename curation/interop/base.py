"""What the interchange formats share: the curated revision a writer is handed (`Curated`: kept clips, their
videos, provenance, the run's per-clip metrics), media placed in an exported folder (`place_media`), and clip
rows read back into the videos a `Source` holds (`videos_of_clips`)."""
from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from curation.errors import BadInput
from curation.ingest.clips import frame_indices
from curation.ingest.layouts.base import VideoEntry

SPLIT_NAMES = {"train": "train", "val": "val", "validation": "val", "validate": "val", "valid": "val",
               "test": "test", "testing": "test", "training": "train"}


@dataclass
class Curated:
    """A curated samples revision as the writers see it."""

    task: object  # curation.task.Task: classes, root (where relative video paths start)
    ref: str  # dataset/table@revision
    fingerprint: str
    samples: list[dict]  # the kept clips (weight > 0), sorted by clip_id
    videos: dict[str, dict]  # video_id → its videos-table row
    metrics: dict[str, dict] = field(default_factory=dict)  # clip_id → the run's per-clip metrics (with --run)
    run: str | None = None
    notes: list[str] = field(default_factory=list)  # what a format could not hold, said back to the user

    @property
    def provenance(self) -> dict:
        return {"table": self.ref, "fingerprint": self.fingerprint, **({"run": self.run} if self.run else {}),
                "written_by": "curate export"}

    def media(self, video_id: str) -> Path:
        return Path(self.task.root) / self.videos[video_id]["path"]


def clip_start(clip: dict) -> int:
    """The first frame a clip row reads."""
    return frame_indices(clip["end_frame"], clip["stride"], clip["n_frames"])[0]


def flat_name(video_id: str) -> str:
    """A video id as one file name (ids may hold folders and segment marks)."""
    return re.sub(r"[^A-Za-z0-9._#-]+", "__", video_id)


def place_media(source: Path, dest: Path, copy: bool) -> None:
    """The video at `dest`: a hard link (no space used), a symbolic link where a hard link cannot reach
    (another file system), or a copy when asked."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not source.is_file():
        raise BadInput(f"video {source} is missing", "restore it, or export a revision that leaves it out")
    if copy:
        shutil.copy2(source, dest)
        return
    try:
        os.link(source, dest)
    except OSError:
        dest.symlink_to(source.resolve())


def split_name(value, where: str) -> str | None:
    if value in (None, ""):
        return None
    split = SPLIT_NAMES.get(str(value).lower())
    if split is None:
        raise BadInput(f"{where}: split {value!r} is not train, val or test", "fix the split column")
    return split


def videos_of_clips(rows: list[dict], where: str) -> list[VideoEntry]:
    """Clip rows (video_id, path, label, split, weight, start_s, end_s of the video) as one entry per video: its
    clips' most common label and their mean weight. A video's rows must agree on its path and split."""
    by_video: dict[str, list[dict]] = {}
    for row in rows:
        by_video.setdefault(row["video_id"], []).append(row)
    videos = []
    for video_id, clips in by_video.items():
        first = clips[0]
        if any(c["path"] != first["path"] or c.get("split") != first.get("split") for c in clips):
            raise BadInput(f"{where}: the clips of video {video_id!r} name different files or splits",
                           "give every clip of a video the same path and split")
        label = Counter(c["label"] for c in clips).most_common(1)[0][0]
        weight = sum(c.get("weight", 1.0) for c in clips) / len(clips)
        videos.append(VideoEntry(video_id, first["path"], label=label, split=first.get("split"), group=first["path"],
                                 start_s=first.get("start_s"), end_s=first.get("end_s"), weight=weight))
    return videos


def check_weight(value, where: str) -> float:
    try:
        weight = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{where}: weight {value!r} is not a number", "fix the weight column") from None
    if not weight > 0:
        raise BadInput(f"{where}: weight {value!r} is not above 0", "leave out samples you do not want trained on")
    return weight


class Format:
    """An interchange format `curate export --format` writes (by default for class-video datasets: folders,
    manifest)."""

    name = ""
    consumer = ""  # who reads it: shown by --help and docs/layouts.md
    folder = True  # writes a folder (else one file)
    # None: each clip's label is in the file; "votes": one label per video, its clips' most common; "times": the
    # videos' event times. A clip relabel the file cannot hold is named in a note (export._lost_labels).
    video_labels: str | None = None
    metric_columns = False  # has room for a run's per-clip metrics (--run)
    weights = True  # holds each sample's weight (else a weight other than 1 is named in a note: export._lost_weights)

    def holds(self, layout) -> bool:
        """Whether a dataset of `layout` can be written in this format."""
        return layout.class_videos

    def write(self, curated: Curated, out: Path, copy: bool) -> list[Path]:
        raise NotImplementedError
