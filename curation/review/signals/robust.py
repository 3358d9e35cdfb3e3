"""The robust z-score the label and outlier signals share."""
from __future__ import annotations

import numpy as np


def robust_z(values: np.ndarray) -> np.ndarray:
    """(x - median) / (1.4826 · median absolute deviation): a z-score that the outliers it looks for do not
    inflate (falls back to the standard deviation when the MAD is 0)."""
    values = np.asarray(values, dtype=float)
    median = np.median(values)
    scale = 1.4826 * np.median(np.abs(values - median))
    scale = scale if scale > 1e-9 else (values.std() or 1.0)
    return (values - median) / scale
