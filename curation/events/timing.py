"""Labelled times the model disagrees with: where a video's score curve puts its event, against where the label
does.

A model that learned the event's look peaks at the event whatever the label says, but not necessarily at the
same moment as the label: a Nexar-style model peaks where the collision becomes certain, some fixed time
before or after the annotated instant. That lag is measured on the videos themselves — the median signed offset
of every labelled time to its nearest predicted peak — and taken off before judging. A labelled time with no
corrected peak within `tolerance_s` but one within `search_s` is proposed to move there; a time with no peak
near at all is left alone (the model missed it: no evidence where it belongs)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curation.events.times import pairs_within


@dataclass(frozen=True)
class Retime:
    video_id: str
    labelled: float  # seconds, as the label says
    suggested: float  # where the curve's peak is, lag taken off
    score_at_label: float  # the curve's highest score within the tolerance of the label
    score_at_peak: float

    @property
    def certainty(self) -> float:
        """How much more the model believes the suggested time than the labelled one, in [0, 1]."""
        return round(float(np.clip(self.score_at_peak - self.score_at_label, 0.0, 1.0)), 4)


def model_lag(predicted: dict[str, list[float]], labelled: dict[str, list[float]], search_s: float) -> float:
    """The median of (nearest predicted peak − labelled time) over the labelled times with a peak within
    `search_s`; 0 when none has."""
    offsets = []
    for video, times in labelled.items():
        peaks = np.asarray(predicted.get(video, []), float)
        for t in times if len(peaks) else ():
            nearest = peaks[np.argmin(np.abs(peaks - t))]
            if abs(nearest - t) <= search_s:
                offsets.append(nearest - t)
    return float(np.median(offsets)) if offsets else 0.0


def _highest_near(curve_t: np.ndarray, curve_s: np.ndarray, t: float, radius: float) -> float:
    """The curve's highest score within `radius` of time `t` (0 where it has no window there)."""
    near = np.abs(curve_t - t) <= radius
    return float(curve_s[near].max()) if near.any() else 0.0


def misplaced_times(curves: dict[str, tuple[np.ndarray, np.ndarray]], predicted: dict[str, list[float]],
                    labelled: dict[str, list[float]], tolerance_s: float = 0.5,
                    search_s: float = 3.0) -> tuple[list[Retime], float]:
    """(the labelled times to move, most certain first; the model's lag in seconds). `curves` are the videos'
    (times, scores), `predicted` their peak times and `labelled` the times the labels give."""
    lag = model_lag(predicted, labelled, search_s)
    out = []
    for video, times in labelled.items():
        peaks = np.asarray(predicted.get(video, []), float) - lag
        if not len(times) or not len(peaks) or video not in curves:
            continue
        close = pairs_within(times, peaks, tolerance_s)
        loose_times = sorted(set(range(len(times))) - {i for i, _ in close})
        loose_peaks = sorted(set(range(len(peaks))) - {j for _, j in close})
        curve_t, curve_s = (np.asarray(x, float) for x in curves[video])
        for i, j in pairs_within([times[k] for k in loose_times], peaks[loose_peaks], search_s):
            label, peak = float(times[loose_times[i]]), float(peaks[loose_peaks[j]])
            out.append(Retime(video, label, round(peak, 3), _highest_near(curve_t, curve_s, label + lag, tolerance_s),
                              _highest_near(curve_t, curve_s, peak + lag, tolerance_s)))
    return sorted(out, key=lambda r: (-r.certainty, r.video_id)), lag
