"""A manifest CSV `path,label[,split][,start_s,end_s]`: any videos, any classes, segments of files; what every
class dataset can be exported as."""
from __future__ import annotations

from pathlib import Path

from curation.errors import BadInput
from curation.ingest.layouts.base import Layout, Source, VideoEntry, check_unique, class_rows, split_of, time_of


class Manifest(Layout):
    name = "manifest"


def read_manifest(csv_path: str | Path) -> Source:
    """CSV `path,label[,split][,start_s,end_s]`; paths relative to the CSV's folder or absolute."""
    csv_path = Path(csv_path)
    rows, classes = class_rows(csv_path, ["path", "label"], "manifest", "video")
    videos = []
    for row in rows:
        line = row["_line"]
        if not row["path"]:
            raise BadInput(f"{csv_path.name} line {line}: empty path", "give every row the path of its video")
        split = split_of(row, f"{csv_path.name} line {line}")
        start, end = time_of(row, "start_s", csv_path), time_of(row, "end_s", csv_path)
        if start is not None and end is not None and end <= start:
            raise BadInput(f"{csv_path.name} line {line}: end_s must be after start_s", "fix the CSV")
        video_id = row["path"].rsplit(".", 1)[0]
        if start is not None or end is not None:
            video_id += f"#{start or 0:g}-{end if end is not None else 'end'}"
        videos.append(VideoEntry(video_id, row["path"], label=classes.index(row["label"]), split=split,
                                 group=row["path"], start_s=start, end_s=end))
    check_unique(videos, csv_path)
    return Source("manifest", csv_path.parent, classes, videos, [csv_path])
