"""Videos unlike all others, from one look vector a video (its mean frame, 8×8 RGB)."""
from __future__ import annotations

import numpy as np

from curation.review.signals.neighbours import knn
from curation.review.signals.robust import robust_z
from curation.review.suggestion import Suggestion, certainty

OUTLIER_Z = 3.5  # the usual cut-off for the modified z-score


def look_outliers(looks: np.ndarray, videos: list[str], threshold: float = OUTLIER_Z, neighbours: int = 5,
                  skip: set[str] = frozenset(), exact: bool | None = None) -> list[Suggestion]:
    """Videos whose mean Euclidean distance of look to their `neighbours` nearest videos is more than `threshold`
    robust standard deviations above the typical video's, proposed at weight 0 for review (a rare but real scene is
    worth keeping; a dead camera, a wrong mount or a broken colour pipeline is not). Videos in `skip` are scored
    with the rest but never proposed; with `2 · neighbours` videos or fewer, nothing says what is typical."""
    if len(videos) <= 2 * neighbours:
        return []
    _, dist = knn(np.asarray(looks, dtype=np.float32), neighbours, metric="l2", exact=exact)
    spread = dist.mean(axis=1)
    return [Suggestion(v, "video", "weight", "0", "outlier",
                       f"outlier: its look is {d:.0f} from its {neighbours} nearest "
                       f"videos, {z:.1f} robust SD above the typical video", certainty(z),
                       plain="This video looks unlike every other video (its colours and layout): check that it "
                             "belongs before training on it.")
            for v, d, z in zip(videos, spread, robust_z(spread)) if z > threshold and v not in skip]
