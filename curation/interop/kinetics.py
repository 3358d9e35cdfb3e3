"""`kinetics-csv`: Kinetics' annotation CSV, `label,youtube_id,time_start,time_end,split`, one row per kept clip
(its span of the file, as Kinetics lists 10-second clips of YouTube videos), plus `path` (the file, relative to
the CSV's folder) and `weight` columns that Kinetics tools ignore by name; the provenance in
`<name>.provenance.json` beside it (a CSV has no metadata field). `curate ingest kinetics-csv` reads any such
CSV back, a row per segment: by `path`, or by Kinetics' file naming (`<youtube_id>_<start:06d>_<end:06d>.mp4`,
or `<youtube_id>.<ext>` cut to the row's times) under its folder. Re-ingested with the same clip geometry, each
row is one clip again: the same frames, label and weight."""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from curation.csvio import nonneg_float
from curation.errors import BadInput, NotFound
from curation.frames.timeline import Timeline
from curation.frames.video import VIDEO_EXTENSIONS
from curation.fsutil import json_bytes, write_output
from curation.ingest.layouts.base import Source, VideoEntry, check_unique, class_rows, csv_text, number, write_text
from curation.interop.base import Curated, Format, check_weight, clip_start, split_name

HEADER = ["label", "youtube_id", "time_start", "time_end", "split", "path", "weight"]


class KineticsCsv(Format):
    name = "kinetics-csv"
    consumer = "Kinetics-style loaders (PyTorchVideo, mmaction2 annotation converters), pandas"
    folder = False

    def holds(self, layout) -> bool:
        return layout.class_videos or layout.event_task  # a row per clip: Nexar's clips are labelled segments too

    def write(self, curated: Curated, out: Path, copy: bool) -> list[Path]:
        rows = []
        for s in curated.samples:
            video = curated.videos[s["video_id"]]
            timeline = Timeline.of_video(video)
            first = clip_start(s)
            label = "" if s["label"] is None else curated.task.classes[s["label"]]
            rows.append([label, s["video_id"], f"{timeline.time_of(first):.6f}",
                         f"{timeline.end_of(s['end_frame']):.6f}",  # the end of its last frame
                         {"val": "validate"}.get(s["split"], s["split"] or ""),
                         Path(os.path.relpath(curated.media(s["video_id"]), out.resolve().parent)).as_posix(),
                         number(round(s["weight"], 6))])
        provenance = write_output(out.with_suffix(".provenance.json"), json_bytes(curated.provenance))
        return [write_text(out, csv_text(HEADER, rows)), provenance]


def read_kinetics(csv_path: str | Path) -> Source:
    """A Kinetics-style CSV as a class dataset (a manifest of segments); labels are the class names."""
    csv_path = Path(csv_path)
    rows, classes = class_rows(csv_path, ["label", "youtube_id", "time_start", "time_end"], "kinetics-csv",
                               "video segment")
    files = None  # an index of the videos under the CSV's folder, built when a row has no path
    repeats = Counter(r["youtube_id"] for r in rows)  # a video listed with several segments: one id each
    videos = []
    for row in rows:
        where = f"{csv_path.name} line {row['_line']}"
        if not row["youtube_id"]:
            raise BadInput(f"{where}: empty youtube_id", "give every row the id of its video")
        start = nonneg_float(row["time_start"], f"{where}: time_start")
        end = nonneg_float(row["time_end"], f"{where}: time_end")
        if end <= start:
            raise BadInput(f"{where}: time_end must be after time_start", "fix the CSV")
        video_id = row["youtube_id"] if repeats[row["youtube_id"]] == 1 else f"{row['youtube_id']}#{start:g}-{end:g}"
        path = row.get("path", "")
        if not path:
            files = files if files is not None else _video_files(csv_path.parent)
            path, trimmed = _find(files, row["youtube_id"], start, end, where)
            if trimmed:  # the file is the segment already
                start, end = None, None
        weight = check_weight(row["weight"], where) if row.get("weight", "") != "" else 1.0
        videos.append(VideoEntry(video_id, path, label=classes.index(row["label"]),
                                 split=split_name(row.get("split"), where), group=row["youtube_id"],
                                 start_s=start, end_s=end, weight=weight))
    check_unique(videos, csv_path)
    return Source("manifest", csv_path.parent, classes, videos, [csv_path])


def _video_files(root: Path) -> dict[str, str]:
    return {p.stem: p.relative_to(root).as_posix() for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS}


def _find(files: dict[str, str], youtube_id: str, start: float, end: float, where: str) -> tuple[str, bool]:
    trimmed = f"{youtube_id}_{int(start):06d}_{int(end):06d}"
    if trimmed in files:
        return files[trimmed], True
    if youtube_id in files:
        return files[youtube_id], False
    raise NotFound(f"{where}: no video {trimmed}.mp4 or {youtube_id}.* under the CSV's folder",
                   "add a path column, or put the videos beside the CSV")
