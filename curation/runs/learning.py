"""Did a run learn? Suggestions built on a model that learned nothing point at random clips, and a score of such
a run is luck; `train` says which a run is at its end and `suggest` takes no label issues from one that did not.

A run learned when both hold:
- its best validation metric is at least a third of the way from chance (a constant guess: the share of positives
  for mAP, the commonest class for accuracy) to a perfect score;
- its last epoch's train loss is below 95% of a constant guess's loss on the same draws (the entropy of their
  labels): a model stuck at the class prior has learned nothing, whatever a small val set says.
Without a validation score (a val split lacking a class) the loss decides alone.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OF_THE_WAY = 1 / 3
LOSS_SHARE = 0.95


@dataclass(frozen=True)
class LearningCheck:
    learned: bool | None  # None: the run lacks what the check reads (no validation, or an older run)
    reason: str


def constant_loss(labels: np.ndarray, n_classes: int) -> float | None:
    """The mean cross-entropy of always predicting the labels' own frequencies: the entropy of the labels."""
    labels = np.asarray(labels)
    labels = labels[labels >= 0]
    if len(labels) == 0:
        return None
    p = np.bincount(labels, minlength=n_classes) / len(labels)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def learning_check(record) -> LearningCheck:
    """Both tests where the run has what they read; the loss alone where it has no validation score (a val split
    without both classes); unknown where it has neither (an older run)."""
    last = record.epochs[-1] if record.epochs else {}
    chance, constant = last.get("val_chance"), last.get("constant_loss")
    best, loss, metric = record.best_value, last.get("train_loss"), record.metric
    parts, ok = [], []
    if chance is not None and isinstance(best, float):
        bar = chance + (1 - chance) * OF_THE_WAY
        parts.append(f"val {metric} {best:.3f} (chance {chance:.3f}, a learned run ≥ {bar:.3f})")
        ok.append(best >= bar)
    if constant is not None and loss is not None:
        parts.append(f"train loss {loss:.3f} (a constant guess {constant:.3f})")
        ok.append(loss <= LOSS_SHARE * constant)
    if not ok:
        return LearningCheck(None, "whether it learned is unknown (no validation metric or loss to check)")
    return LearningCheck(all(ok), ("learned: " if all(ok) else "did not learn: ") + "; ".join(parts))
