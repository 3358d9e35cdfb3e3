"""Validation metrics: the Nexar competition's mean AP over τ, and multi-class accuracy."""
from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import average_precision_score

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
            out[f"ap_tau_{tau:.1f}"] = float(average_precision_score(positives[keep], probs[keep]))
        else:
            out[f"ap_tau_{tau:.1f}"] = math.nan
    aps = [v for v in out.values() if not math.isnan(v)]
    out["mAP"] = float(np.mean(aps)) if aps else math.nan
    out["n_positive_videos"] = int(((windows == "tau_1.0") & (targets == 1)).sum())
    out["n_negative_videos"] = int(negatives.sum())
    return out


def classification_metrics(labels, predictions, classes: list[str]) -> dict:
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    k = len(classes)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (labels, predictions), 1)
    per_class = {c: (float(confusion[i, i] / confusion[i].sum()) if confusion[i].sum() else math.nan)
                 for i, c in enumerate(classes)}
    return {"accuracy": float((labels == predictions).mean()) if len(labels) else math.nan,
            "per_class_accuracy": per_class, "confusion": confusion.tolist()}
