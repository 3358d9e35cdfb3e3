"""Views of one synthetic folder for experiments that need labels they can trust: the validation videos keep
the generator's true labels (a hand-checked val set, as careful teams keep one), the train videos keep the
CSV's labels (flips and all) or, for the ceiling, the true ones."""
from __future__ import annotations

import copy
from pathlib import Path

from curation.ingest.layouts import read_nexar
from curation.ingest.layouts.base import Source
from curation.ingest.splits import hold_out
from curation.synth import load_truth


def checked_val(data: Path, val_fraction: float, seed: int) -> set[str]:
    """The val video ids: about `val_fraction` of each true label's train.csv videos."""
    truth = load_truth(data)["videos"]
    videos = [v for v in read_nexar(data).videos if v.split is None]
    return hold_out([v.group for v in videos], [truth[v.video_id]["target"] for v in videos], val_fraction, seed)


def labelled_view(data: Path, val: set[str], true_labels: bool = False, fixed_split: bool = True) -> Source:
    """The folder's Nexar source with `val`'s videos in the val split under their true labels; the other train.csv
    videos in train (or unassigned, `fixed_split=False`, for folds) under the CSV's labels, or the true ones."""
    truth = load_truth(data)["videos"]
    source = copy.deepcopy(read_nexar(data))
    for v in source.videos:
        if v.split == "test":
            continue
        if true_labels or v.video_id in val:
            t = truth[v.video_id]
            v.label = t["target"]
            v.event_s, v.alert_s = (t["time_of_event"], t["time_of_alert"]) if t["target"] else (None, None)
        v.split = "val" if v.video_id in val else ("train" if fixed_split else None)
    return source
