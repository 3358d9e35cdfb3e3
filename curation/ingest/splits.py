"""Validation splits and folds grouped by video (or by a coarser group), stratified by label."""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from curation.errors import BadInput, Fix


def _groups_by_label(groups: list[str], labels: list) -> dict[str, list[str]]:
    """Sorted groups per label; a group takes the label of its first member."""
    group_label = {}
    for g, y in zip(groups, labels):
        group_label.setdefault(g, y)
    by_label = defaultdict(list)
    for g in sorted(group_label):
        by_label[str(group_label[g])].append(g)
    return dict(sorted(by_label.items()))


MAX_FOLDS = 100  # a fold is a training run: more is a mistyped number


def assign_folds(groups: list[str], labels: list, k: int, seed: int) -> dict[str, int]:
    """Fold 0..k-1 per group; each label's groups are dealt round-robin after a seeded shuffle."""
    if not 2 <= k <= MAX_FOLDS:
        raise BadInput(f"folds must be from 2 to {MAX_FOLDS} (got {k})",
                       Fix("use 5 folds, or a validation fraction for one split", "folds"))
    rng = np.random.default_rng(seed)
    folds, offset = {}, 0
    for members in _groups_by_label(groups, labels).values():
        for i, j in enumerate(rng.permutation(len(members))):
            folds[members[j]] = (i + offset) % k
        offset += len(members)  # keep fold sizes balanced across labels
    return folds


def hold_out(groups: list[str], labels: list, fraction: float, seed: int) -> set[str]:
    """The groups held out (for validation or test): about `fraction` of each label's groups."""
    if not 0 <= fraction < 1:
        raise BadInput(f"a held-out fraction must be in [0, 1) (got {fraction})",
                       Fix("use e.g. 0.2", "option", {"option": "val-fraction", "value": "0.2"}))
    if fraction == 0:
        return set()
    rng = np.random.default_rng(seed)
    val = set()
    for members in _groups_by_label(groups, labels).values():
        n_val = int(round(fraction * len(members)))
        if len(members) > 1:
            n_val = min(max(n_val, 1), len(members) - 1)  # keep both sides non-empty
        val.update(members[j] for j in rng.permutation(len(members))[:n_val])
    return val
