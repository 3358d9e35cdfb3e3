"""Class folders (UCF50-style): one sub-folder of videos per class; the default class layout."""
from __future__ import annotations

import re
from pathlib import Path

from curation.errors import BadInput
from curation.frames.video import VIDEO_EXTENSIONS
from curation.ingest.layouts.base import Layout, Source, VideoEntry, check_root


class Folders(Layout):
    name = "folders"


_UCF_GROUP = re.compile(r"_g(\d+)_c\d+$")


def read_folders(root: str | Path) -> Source:
    """One sub-folder per class (UCF50-style). UCF names `v_Class_gNN_cMM` are grouped by gNN so that
    clips of one actor/scene group never straddle train and val."""
    root = check_root(Path(root))
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    videos = []
    classes = []
    for class_dir in class_dirs:
        files = sorted(p for p in class_dir.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
        if not files:
            continue
        classes.append(class_dir.name)
        for f in files:
            rel = f.relative_to(root).as_posix()
            m = _UCF_GROUP.search(f.stem)
            group = f"{class_dir.name}/g{m[1]}" if m else rel
            videos.append(VideoEntry(rel.rsplit(".", 1)[0], rel, label=len(classes) - 1, group=group))
    if len(classes) < 2:
        raise BadInput(f"{root} has {len(classes)} class folder(s) with videos",
                       "give a folder with one sub-folder of videos per class (at least two)")
    return Source("folders", root, classes, videos)
