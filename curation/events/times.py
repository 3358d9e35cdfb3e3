"""From a score curve to event times, and predicted times against labelled ones.

A curve is a video's scores at the end times of its sliding windows. Events are its peaks above a threshold, at
least `min_gap_s` apart (the higher peak wins), or, for a Nexar model (its curve rises at the alert and plateaus
past the event), its rises above the threshold moved by the typical rise-to-event time (`EventPicker`). Predicted
and labelled times match one to one within a tolerance, as many pairs as possible and, among those, the closest (an
assignment problem); precision, recall and F1 count the matches, and the mean absolute error is over the matched
pairs."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

TOLERANCES_S = (0.25, 0.5, 1.0)


def pick_peaks(times, scores, threshold: float, min_gap_s: float) -> list[float]:
    """Times of the local maxima of `scores` at or above `threshold`, greedily highest first, each at least
    `min_gap_s` from every kept one. A plateau counts once (its first sample)."""
    t, s = np.asarray(times, float), np.asarray(scores, float)
    if len(s) == 0:
        return []
    left = np.concatenate([[-np.inf], s[:-1]])
    right = np.concatenate([s[1:], [-np.inf]])
    candidates = np.flatnonzero((s >= threshold) & (s > left) & (s >= right))
    kept: list[float] = []
    for i in candidates[np.argsort(-s[candidates], kind="stable")]:
        if all(abs(t[i] - k) >= min_gap_s for k in kept):
            kept.append(float(t[i]))
    return sorted(kept)


def onsets(times, scores, threshold: float) -> list[float]:
    """Times where the curve crosses `threshold` upwards (a run above it starting at the first window counts):
    where a Nexar-style model first sees the collision coming, to compare with the labelled alert time."""
    s = np.asarray(scores, float) >= threshold
    starts = np.flatnonzero(s & ~np.concatenate([[False], s[:-1]]))
    return [float(np.asarray(times, float)[i]) for i in starts]


@dataclass(frozen=True)
class Matching:
    matched: int
    predicted: int
    labelled: int
    errors: tuple[float, ...]  # |predicted − labelled| of each matched pair, seconds

    def __add__(self, other: "Matching") -> "Matching":
        return Matching(self.matched + other.matched, self.predicted + other.predicted,
                        self.labelled + other.labelled, self.errors + other.errors)


def pairs_within(a, b, radius: float) -> list[tuple[int, int]]:
    """A one-to-one pairing of `a` to `b` (index pairs) within `radius`: the most pairs, and the smallest total
    distance among those (an assignment problem)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if not len(a) or not len(b):
        return []
    distance = np.abs(a[:, None] - b[None, :])
    outside = distance.sum() + 1.0  # costs more than every in-radius distance together: pairs count first
    rows, cols = linear_sum_assignment(np.where(distance <= radius, distance, outside))
    return [(int(r), int(c)) for r, c in zip(rows, cols) if distance[r, c] <= radius]


def match_times(predicted, labelled, tolerance_s: float) -> Matching:
    """The one-to-one matching of predicted to labelled times within `tolerance_s` with the most pairs, and the
    smallest total error among those."""
    p, y = np.asarray(predicted, float), np.asarray(labelled, float)
    errors = tuple(float(abs(p[i] - y[j])) for i, j in pairs_within(p, y, tolerance_s))
    return Matching(len(errors), len(p), len(y), errors)


def event_metrics(predicted: dict[str, list[float]], labelled: dict[str, list[float]],
                  tolerances=TOLERANCES_S, prefix: str = "event") -> dict:
    """Precision, recall and F1 at each tolerance over the videos of `labelled` (a video without a prediction
    predicted nothing), and the mean absolute error of the matched pairs at the widest tolerance."""
    out = {}
    for tol in tolerances:
        total = Matching(0, 0, 0, ())
        for video, times in labelled.items():
            total = total + match_times(predicted.get(video, []), times, tol)
        precision = total.matched / total.predicted if total.predicted else 0.0
        recall = total.matched / total.labelled if total.labelled else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out.update({f"{prefix}_precision@{tol:g}s": precision, f"{prefix}_recall@{tol:g}s": recall,
                    f"{prefix}_f1@{tol:g}s": f1})
        if tol == max(tolerances):
            out[f"{prefix}_mae_s"] = float(np.mean(total.errors)) if total.errors else None
            out[f"{prefix}_matched"] = total.matched
    return out


def video_counts(predicted: dict[str, list[float]], labelled: dict[str, list[float]], videos: list[str],
                 tolerance_s: float) -> np.ndarray:
    """(videos, 3): each video's matched, predicted and labelled counts at `tolerance_s`; summed over any draw of
    videos they give that draw's precision, recall and F1 (f1_of_counts)."""
    out = np.zeros((len(videos), 3))
    for k, video in enumerate(videos):
        m = match_times(predicted.get(video, []), labelled.get(video, []), tolerance_s)
        out[k] = m.matched, m.predicted, m.labelled
    return out


def f1_of_counts(counts: np.ndarray) -> float:
    """F1 from summed (matched, predicted, labelled) counts; 0 when nothing matched."""
    matched, predicted, labelled = counts
    return 2 * matched / (predicted + labelled) if matched else 0.0


RISE_HOLD_S = 0.3  # a rise the model holds this long, not a one-window blip


@dataclass(frozen=True)
class EventPicker:
    """How a curve becomes event times. Peaks above `threshold`, at least `min_gap_s` apart: for a model taught
    windows around the event. Or, with `offset_s` set, the curve's upward crossings of `threshold` (the earliest of
    moved by `offset_s`: for a Nexar model, whose curve rises at the alert and stays high
    after the event for as long as the video shows the wreck (no clip after the event taught it), so that its
    peaks fall anywhere on a plateau; `offset_s` is the labelled videos' median time from a crossing to the event.
    A Nexar video has one event (its clips stop there), so only the first rise counts, and only one the curve holds
    for `RISE_HOLD_S` (after the event the model is untaught: it may dip and rise again)."""
    threshold: float
    min_gap_s: float
    offset_s: float | None = None

    def times(self, times, scores) -> list[float]:
        if self.offset_s is None:
            return pick_peaks(times, scores, self.threshold, self.min_gap_s)
        rise = first_rise(times, scores, self.threshold)
        return [] if rise is None else [round(rise + self.offset_s, 4)]

    def describe(self, threshold_from: str) -> str:
        how = (f"peaks above {self.threshold:.3f} ({threshold_from}), at least {self.min_gap_s:g} s apart"
               if self.offset_s is None else
               f"rises above {self.threshold:.3f} ({threshold_from}) moved {self.offset_s:+.2f} s (the median rise to "
               "event there)")
        return f"events at the curves' {how}"

    def onset_of(self, event_s: float) -> float | None:
        """The crossing a predicted event came from (onsets only)."""
        return None if self.offset_s is None else event_s - self.offset_s


def first_rise(times, scores, threshold: float) -> float | None:
    """The first upward crossing of `threshold` that the curve holds for `RISE_HOLD_S`; None without one."""
    t, s = np.asarray(times, float), np.asarray(scores, float)
    for start in onsets(t, s, threshold):
        if (s[(t >= start) & (t <= start + RISE_HOLD_S)] >= threshold).all():
            return start
    return None


def onset_offset(curves: dict[str, tuple[np.ndarray, np.ndarray]], labelled: dict[str, list[float]],
                 threshold: float, search_s: float = 3.0) -> float:
    """The median of (labelled time − the curve's first held rise above `threshold`) over the videos with one
    labelled time and a rise within `search_s` of it; 0 when none has."""
    gaps = []
    for video, times in labelled.items():
        rise = first_rise(*curves[video], threshold) if video in curves and len(times) == 1 else None
        if rise is not None and abs(times[0] - rise) <= search_s:
            gaps.append(times[0] - rise)
    return float(np.median(gaps)) if gaps else 0.0


def fit_picker(curves: dict[str, tuple[np.ndarray, np.ndarray]], labelled: dict[str, list[float]],
               min_gap_s: float, by_onsets: bool = False, tolerance_s: float = 0.5) -> EventPicker:
    """The picker with the best F1 at `tolerance_s` on these (validation) videos: its threshold (ties go to the
    higher one: fewer false alarms) and, `by_onsets`, the crossing-to-event offset measured at that threshold."""
    if by_onsets:  # a rise is crossed anywhere on its way up; above 0.9 a plateau's noise decides where
        grid = np.round(np.linspace(0.1, 0.9, 17), 4)
    else:
        scores = np.concatenate([s for _, s in curves.values()]) if curves else np.array([0.5])
        grid = np.unique(np.round(np.quantile(scores, np.linspace(0.5, 0.995, 60)), 4))
    best, best_key = EventPicker(0.5, min_gap_s, 0.0 if by_onsets else None), None
    for threshold in grid:
        offset = onset_offset(curves, labelled, float(threshold)) if by_onsets else None
        picker = EventPicker(float(threshold), min_gap_s, offset)
        predicted = {v: picker.times(t, s) for v, (t, s) in curves.items()}
        f1 = event_metrics(predicted, labelled, (tolerance_s,))[f"event_f1@{tolerance_s:g}s"]
        # ties: peaks take the higher threshold (fewer false alarms), rises the one nearest the middle of the rise
        key = (f1, -abs(threshold - 0.5) if by_onsets else threshold)
        if best_key is None or key > best_key:
            best, best_key = picker, key
    return best
