"""Validation metrics: the Nexar competition's mean AP over τ, and multi-class accuracy, macro-F1, confusion."""
from __future__ import annotations

import math

import numpy as np

from curation.ingest.clips import EVAL_TAUS


def competition_map(targets, windows, probs) -> dict:
    """Per τ: AP over the windows ending τ before the event of positive videos plus the final window of every
    negative video (as the test set is cut); `mAP` is their mean. NaN where a τ has no positives."""
    targets, windows, probs = np.asarray(targets), np.asarray(windows, dtype=object), np.asarray(probs, float)
    negatives = (windows == "final") & (targets == 0)
    out = {}
    for tau in EVAL_TAUS:
        positives = (windows == f"tau_{tau:.1f}") & (targets == 1)
        keep = positives | negatives
        if positives.any() and negatives.any():
            out[f"ap_tau_{tau:.1f}"] = float(average_precision(positives[keep], probs[keep]))
        else:
            out[f"ap_tau_{tau:.1f}"] = math.nan
    aps = [v for v in out.values() if not math.isnan(v)]
    out["mAP"] = float(np.mean(aps)) if aps else math.nan
    out["n_positive_videos"] = int(((windows == "tau_1.0") & (targets == 1)).sum())
    out["n_negative_videos"] = int(negatives.sum())
    return out


def average_precision(positive, scores) -> float:
    """Average precision of `scores` for a boolean target, as sklearn's `average_precision_score` computes it:
    the precision at each distinct score (descending) weighted by the recall it adds. Written out because the
    paired bootstrap calls it thousands of times and sklearn's per-call input validation cost ~3 ms a call."""
    positive, scores = np.asarray(positive, bool), np.asarray(scores, float)
    if not np.isfinite(scores).all():
        raise ValueError("average precision needs finite scores")
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], positive[order]
    last_of_each_score = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    true_positives = np.cumsum(hits)[last_of_each_score]
    if not len(true_positives) or true_positives[-1] == 0:
        return math.nan
    precision = true_positives / (last_of_each_score + 1)
    recall_added = np.diff(true_positives, prepend=0) / true_positives[-1]
    return float(np.sum(recall_added * precision))


def classification_metrics(labels, predictions, classes: list[str]) -> dict:
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    k = len(classes)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (labels, predictions), 1)
    per_class = {c: (float(confusion[i, i] / confusion[i].sum()) if confusion[i].sum() else math.nan)
                 for i, c in enumerate(classes)}
    return {"accuracy": float((labels == predictions).mean()) if len(labels) else math.nan,
            "macro_f1": _macro_f1(confusion), "per_class_accuracy": per_class, "confusion": confusion.tolist()}


def _macro_f1(confusion: np.ndarray) -> float:
    """The mean F1 over the classes that occur (as truth or prediction): 2·TP / (2·TP + FP + FN) per class."""
    tp = np.diag(confusion).astype(float)
    denominator = confusion.sum(axis=0) + confusion.sum(axis=1)
    present = denominator > 0
    return float(np.mean(2 * tp[present] / denominator[present])) if present.any() else math.nan
