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


SPLITS = ("train", "val", "test")


def read_folders(root: str | Path) -> Source:
    """One sub-folder per class (UCF50-style), or split folders of class folders (`train/<class>/`, `val/…`,
    `test/…`, as `curate export --format folders` writes). UCF names `v_Class_gNN_cMM` are grouped by gNN so
    that clips of one actor/scene group never straddle train and val."""
    root = check_root(Path(root))
    subdirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    split_tree = bool(subdirs) and all(d.name in SPLITS for d in subdirs)
    class_dirs = [(d.name, c) for d in subdirs for c in _dirs(d)] if split_tree else [(None, d) for d in subdirs]
    found = [(split, c, _videos_in(c)) for split, c in class_dirs]
    classes = sorted({c.name for _, c, files in found if files})
    videos = []
    for split, class_dir, files in found:
        for f in files:
            rel = f.relative_to(root).as_posix()
            m = _UCF_GROUP.search(f.stem)
            group = f"{class_dir.name}/g{m[1]}" if m else rel
            videos.append(VideoEntry(rel.rsplit(".", 1)[0], rel, label=classes.index(class_dir.name), split=split,
                                     group=group))
    if len(classes) < 2:
        raise BadInput(f"{root} has {len(classes)} class folder(s) with videos",
                       "give a folder with one sub-folder of videos per class (at least two)")
    return Source("folders", root, classes, videos)


def _dirs(folder: Path) -> list[Path]:
    return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))


def _videos_in(class_dir: Path) -> list[Path]:
    return sorted(p for p in class_dir.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
