"""Views of one synthetic folder for experiments that need labels they can trust: the validation videos keep
the generator's true labels (a hand-checked val set, as careful teams keep one), the train videos keep the
written labels (flips and all) or, for the ceiling, the true ones. For either generator: the Nexar layout's
CSVs or the action world's class folders (its test videos keep their true class)."""
from __future__ import annotations

import copy
from pathlib import Path

from curation.ingest.layouts import read_nexar
from curation.ingest.layouts.base import Source
from curation.ingest.layouts.folders import read_folders
from curation.ingest.splits import hold_out
from curation.synth import load_truth


def _is_folders(truth: dict) -> bool:
    return truth.get("layout") == "folders"


def _read(data: Path, truth: dict) -> Source:
    return read_folders(data) if _is_folders(truth) else read_nexar(data)


def synthetic_source(data: Path) -> Source:
    """A synthetic folder of either generator read as its layout's source (the written labels)."""
    return _read(data, load_truth(data))


def checked_val(data: Path, val_fraction: float, seed: int) -> set[str]:
    """The val video ids: about `val_fraction` of each true label's labelled videos (whole groups of the action
    world, whose videos share a scene)."""
    truth = load_truth(data)
    videos = [v for v in _read(data, truth).videos if v.split in (None, "train")]
    info = truth["videos"]
    if _is_folders(truth):
        groups = [f"g{info[v.video_id]['group']}" for v in videos]
        held = hold_out(groups, [info[v.video_id]["target"] for v in videos], val_fraction, seed)
        return {v.video_id for v, g in zip(videos, groups) if g in held}
    return hold_out([v.group for v in videos], [info[v.video_id]["target"] for v in videos], val_fraction, seed)


def labelled_view(data: Path, val: set[str], true_labels: bool = False, fixed_split: bool = True) -> Source:
    """The folder's source with `val`'s videos in the val split under their true labels; the other labelled
    videos in train (or unassigned, `fixed_split=False`, for folds) under the written labels, or the true ones."""
    truth = load_truth(data)
    info = truth["videos"]
    source = copy.deepcopy(_read(data, truth))
    for v in source.videos:
        if v.split == "test":
            continue
        if true_labels or v.video_id in val:
            t = info[v.video_id]
            if _is_folders(truth):
                v.label = source.classes.index(t["class"])
            else:
                v.label = t["target"]
                v.event_s, v.alert_s = (t["time_of_event"], t["time_of_alert"]) if t["target"] else (None, None)
        v.split = "val" if v.video_id in val else ("train" if fixed_split else None)
    return source
