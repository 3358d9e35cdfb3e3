"""bench/label_noise.py's Fieller interval for the share of the gap recovered (a ratio of two paired means)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from conftest import load_script

SCRIPT = Path(__file__).parent.parent / "bench" / "label_noise.py"


@pytest.fixture(scope="module")
def fieller():
    return load_script(SCRIPT).fieller


def test_with_a_precise_denominator_fieller_matches_the_delta_method(fieller):
    rng = np.random.default_rng(0)
    b = rng.normal(1.0, 0.01, 200)  # the gap: far from 0 in its own units
    a = 0.7 * b + rng.normal(0.0, 0.05, 200)  # the recovered part, share 0.7
    low, high = fieller(a, b)
    ratio = a.mean() / b.mean()
    assert low < ratio < high
    # where the denominator's mean is sure, the ratio's error is the linearised one
    n = len(a)
    cov = np.cov(a, b, ddof=1) / n
    se = math.sqrt(cov[0, 0] - 2 * ratio * cov[0, 1] + ratio ** 2 * cov[1, 1]) / b.mean()
    t = stats.t.ppf(0.975, n - 1)
    assert low == pytest.approx(ratio - t * se, abs=1e-3)
    assert high == pytest.approx(ratio + t * se, abs=1e-3)


def test_an_uncertain_denominator_widens_the_interval_unevenly(fieller):
    rng = np.random.default_rng(1)
    b = rng.normal(1.0, 1.5, 30)  # the gap is clear of 0, but only just
    a = 0.7 * b + rng.normal(0.0, 0.3, 30)
    low, high = fieller(a, b)
    ratio = a.mean() / b.mean()
    assert low < ratio < high
    assert high - ratio > ratio - low  # a denominator that may be small stretches the upper side


def test_a_denominator_not_clear_of_zero_gives_no_bound(fieller):
    rng = np.random.default_rng(2)
    b = rng.normal(0.0, 1.0, 30)
    a = 0.7 * b + rng.normal(0.0, 0.3, 30)
    assert all(math.isnan(x) for x in fieller(a, b))
