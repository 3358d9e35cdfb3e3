"""A second look at multi-class label issues: a new linear head (a probe) on features the wrong labels shaped
least, fitted without the videos a first pass suspects, each train video read by a probe that never saw it.

Why: a run taught wrong labels learns their confusion (a look-alike pair's flips teach it that one class's look is
often the other's), so its own margins blur exactly where the wrong labels are. Models trained on the true labels
of other videos find the same wrong labels at F1 0.86 against the run's 0.66 (bench/label_ceiling.py). The probe
reads the run's embedding beside its start's features (the start never saw a label: it misses little but reads
look-alikes loosely; the run's embedding separates them but carries some of what the wrong labels taught), fitted on
the val videos (a checked split in a careful team) and the train videos the first pass left alone: F1 0.80 against
0.70 on decision draws (bench/README.md, issue 41).

A binary run's probe is fitted on the val videos alone: its first pass (per-clip margins, a label being a pattern in
time) misses half the wrong labels of hard cases, so the train videos it clears still carry them and would teach
the probe the same confusion; on the Nexar instance decision draws the val alone read them at F1 0.835 against
0.647 with the cleared train videos, and the first pass's 0.510 (bench/README.md, issue 41)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from curation.review.signals.labels import preferred_class
from curation.review.suggestion import Suggestion
from curation.review.words import class_name, probe_words

PROBE_C = 0.1  # inverse L2 strength on standardised features: 0.1 and 0.3 scored alike on the decision draws
BINARY_PROBE_C = 0.3  # fitted on the val alone: 0.3 and 1.0 read alike, 0.1 worse (0.791), on decision draws
PROBE_FOLDS = 5  # each train video is read by a probe fitted without its fifth of the train videos


def standardised(blocks: list[np.ndarray]) -> np.ndarray:
    """The feature blocks side by side, each feature centred and scaled to unit variance (so that neither block's
    scale decides for it)."""
    return np.hstack([(b - b.mean(axis=0)) / (b.std(axis=0) + 1e-6) for b in blocks])


def probe_probabilities(x: np.ndarray, labels: np.ndarray, fit: np.ndarray, read: np.ndarray, n_classes: int,
                        folds: int = PROBE_FOLDS, c: float = PROBE_C, seed: int = 0) -> np.ndarray | None:
    """(len(read), n_classes) class probabilities for the rows `read`, each from a multinomial logistic regression
    on the rows `fit` less the fold of `read` it falls in (a row is never read by a probe fitted on it). None when a
    fold's fit would see fewer than two classes."""
    out = np.zeros((len(read), n_classes))
    if not np.intersect1d(fit, read).size:  # no row is read by a fit on it: one fit reads them all
        folds = 1
    for held in np.array_split(np.random.default_rng(seed).permutation(len(read)), min(folds, len(read))):
        rows = np.setdiff1d(fit, read[held])
        if len(np.unique(labels[rows])) < 2:
            return None
        model = LogisticRegression(C=c, max_iter=3000).fit(x[rows], labels[rows])
        out[np.ix_(held, model.classes_)] = model.predict_proba(x[read[held]])
    return out


def probe_issues(videos: pd.DataFrame, features: list[dict[str, np.ndarray]], first: list[Suggestion],
                 action: str, value: str, classes: list) -> tuple[list[Suggestion], list[Suggestion]]:
    """(found, unread): the train videos of `videos` (index video_id; label, split) whose label a probe on
    `features` (video → vector, one dict a feature set) does not prefer, fitted on the val videos and (more than two
    classes) the train videos `first` did not flag; and the videos of `first` it could not read (a feature set lacks
    them, or the probe cannot be fitted: then all of `first`), which keep their first-pass verdict. With action
    `label` a found video is relabelled whole, to the class the probe prefers (a class video has one label; a
    binary video's relabels are its clips', made by the caller)."""
    read_all = videos[videos.index.isin(set.intersection(*(set(f) for f in features)))]
    labels, split = read_all["label"].to_numpy(dtype=int), read_all["split"].to_numpy()
    suspects = {s.id for s in first}
    binary = len(classes) <= 2
    train = np.flatnonzero(split == "train")
    cleared = (split == "train") & ~read_all.index.isin(suspects)
    fit = np.flatnonzero((split == "val") if binary else (split == "val") | cleared)
    x = standardised([np.stack([f[v] for v in read_all.index]).astype(np.float64) for f in features])
    c = BINARY_PROBE_C if binary else PROBE_C
    probs = probe_probabilities(x, labels, fit, train, max(len(classes), 2), c=c) if len(train) else None
    if probs is None:
        return [], first
    read_ids = set(read_all.index)
    unread = [s for s in first if s.id not in read_ids]
    by_first = {s.id: s for s in first}
    fitted_on = (f"the {len(fit)} val videos" if binary
                 else f"{len(fit)} videos without the {len(suspects)} the first pass suspected")
    out = []
    for row, p in zip(train, probs):
        video, label = read_all.index[row], labels[row]
        preferred = preferred_class(p, label)
        if p[preferred] <= p[label]:
            continue
        reason = (f"label issue: a probe on the run's and its start's features, fitted on {fitted_on}, gives its "
                  f"label {p[label]:.2f} and {class_name(classes, preferred)} {p[preferred]:.2f}")
        if video in by_first:
            reason += f"; first pass: {by_first[video].reason.removeprefix('label issue: ')}"
        proposed = class_name(classes, preferred) if action == "label" else value
        out.append(Suggestion(video, "video", action, proposed, "label issue", reason, round(float(1 - p[label]), 4),
                              plain=probe_words(class_name(classes, label), class_name(classes, preferred), binary)))
    return out, unread
