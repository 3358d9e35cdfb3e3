"""Bounds of the whole numbers users give, shared by every setting that takes one: a mistyped huge number is
refused at once instead of overflowing a library's 64-bit integer or starting work that never ends."""
from __future__ import annotations

import math

import numpy as np

MAX_SEED = 2**63 - 1  # torch and numpy take a seed as a 64-bit integer
MAX_WORKERS = 1024  # worker processes on one machine: far past any machine's cores


def whole(x, least: float = -math.inf, most: float = math.inf) -> bool:
    """`x` is an integer (not a bool, not a float) in [least, most]."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool) and least <= x <= most
