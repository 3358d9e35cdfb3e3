"""Labelled times the model disagrees with: where a video's score curve puts its event, against where the label
does.

A video with one labelled time: its clips' labels (1 from the alert to the event for Nexar, the windows around the
event for the events layout) form a pattern over time; the curve of a model that learned the event follows that
pattern where the event really is. The shift of the pattern that best matches the curve (least squares, within
`search_s`) is where the curve puts the label. Where no clip was labelled the pattern says nothing: a Nexar model
never saw a clip after the collision, and its curve stays high there for as long as the video shows the wreck, so
only the rise at the alert places a Nexar label. A model's curve need not line up with the labels even where they
are right (it rises when the evidence shows, a little after the alert): that lag, the median shift over the videos,
is taken off. A label is proposed to move when its corrected shift exceeds `tolerance_s` and the shifted pattern
fits the curve clearly better (its error falls by `min_fall` or more) — a curve that fits no shift well is no
evidence where the event belongs. On a curve that plateaus, a peak says little; a pattern uses the whole curve.

A video with several labelled times: each is matched to the curve's peaks (a shift of the whole pattern would
move them all): the lag is the median offset of labelled times to their nearest peak, and a time with no
corrected peak within `tolerance_s` but one within `search_s` is proposed to move there."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curation.events.times import pairs_within


MIN_FALL = 0.05  # how much the best shift's mean squared error must fall below the label's (from one seed)


@dataclass(frozen=True)
class Retime:
    video_id: str
    labelled: float  # seconds, as the label says
    suggested: float  # where the curve puts it, lag taken off
    at_label: float  # peaks: the curve's highest score near the label; patterns: the fit's error at the label
                     # (the pattern where a right label would put it: moved by the model's lag)
    at_suggested: float  # … near the suggested time; … at the best shift
    by: str = "peak"  # "peak" or "pattern": how the curve placed it
    lag: float = 0.0  # the model's lag taken off (seconds), measured over the videos judged the same way

    @property
    def certainty(self) -> float:
        """How much more the curve supports the suggested time than the labelled one, in [0, 1]: the rise in score
        (peaks) or the fall in the fit's error (patterns)."""
        gain = self.at_suggested - self.at_label if self.by == "peak" else self.at_label - self.at_suggested
        return round(float(np.clip(gain, 0.0, 1.0)), 4)


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


def pattern_fit(curve_t, curve_s, clip_t, clip_y, shifts) -> np.ndarray:
    """Per shift, how far the curve is from the clips' label pattern moved by it: the mean squared difference
    over the samples the pattern labels positive and over those it labels negative, averaged (so a shift that
    leaves more negatives in view does not weigh them more). A sample takes the label of the clip ending nearest
    (time − shift) where one ends within half the clips' spacing; elsewhere, or where that label is NaN (the
    pattern says nothing there), it is left out. A shift leaving no positive in view, or under a quarter of the
    samples, is inf."""
    t, s = np.asarray(curve_t, float), np.asarray(curve_s, float)
    order = np.argsort(clip_t)
    ends, labels = np.asarray(clip_t, float)[order], np.asarray(clip_y, float)[order]
    reach = (np.median(np.diff(ends)) if len(ends) > 1 else 1.0) / 2 + 1e-9
    out = np.full(len(shifts), np.inf)
    for k, shift in enumerate(shifts):
        at = t - shift
        after = np.clip(np.searchsorted(ends, at), 0, len(ends) - 1)  # the clip ending at or after, and before
        before = np.clip(after - 1, 0, len(ends) - 1)
        nearest = np.where(np.abs(ends[before] - at) <= np.abs(ends[after] - at), before, after)
        y = np.where(np.abs(ends[nearest] - at) <= reach, labels[nearest], np.nan)
        ones, zeros = y >= 0.5, y < 0.5  # NaN is neither
        if ones.any() and (ones.sum() + zeros.sum()) * 4 >= len(t):
            errors = [np.mean((s[mask] - y[mask]) ** 2) for mask in (ones, zeros) if mask.any()]
            out[k] = float(np.mean(errors))
    return out


def misplaced_times(curves: dict[str, tuple[np.ndarray, np.ndarray]], predicted: dict[str, list[float]],
                    labelled: dict[str, list[float]], tolerance_s: float = 0.5, search_s: float = 3.0,
                    patterns: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
                    min_fall: float = MIN_FALL) -> tuple[list[Retime], float]:
    """(the labelled times to move, most certain first; the model's lag in seconds: the patterns' when any
    video was fitted, else the peaks'). `curves` are the videos' (times, scores), `predicted` their peak times,
    `labelled` the times the labels give and `patterns` the videos' clip labels by end time (end times,
    labels 0/1): a video with one labelled time and a pattern is judged by its pattern, others by peaks."""
    patterns = patterns or {}
    fitted = {v for v, times in labelled.items() if len(times) == 1 and v in patterns and v in curves}
    moves, pattern_lag = _pattern_moves({v: curves[v] for v in fitted}, {v: labelled[v][0] for v in fitted},
                                        {v: patterns[v] for v in fitted}, tolerance_s, search_s, min_fall)
    rest = {v: times for v, times in labelled.items() if v not in fitted}
    peak_moves, peak_lag = _peak_moves(curves, predicted, rest, tolerance_s, search_s)
    out = moves + peak_moves
    return sorted(out, key=lambda r: (-r.certainty, r.video_id)), pattern_lag if fitted else peak_lag


def _pattern_moves(curves, labelled: dict[str, float], patterns, tolerance_s: float, search_s: float,
                   min_fall: float) -> tuple[list[Retime], float]:
    """The label's evidence is the fit at the model's lag (where the curve would follow a right label), against
    the fit at the best shift."""
    shifts = np.round(np.arange(-search_s, search_s + 1e-9, 1 / 30), 4)  # a frame's time at 30 fps
    errors = {v: pattern_fit(t, s, *patterns[v], shifts) for v, (t, s) in curves.items()}
    errors = {v: e for v, e in errors.items() if np.isfinite(e).any()}
    # the best shift; among equally good ones (a plateau over the curve's start fits several) the smallest move
    best = {v: int(min(np.flatnonzero(e <= e.min() + 1e-9), key=lambda k: abs(shifts[k]))) for v, e in errors.items()}
    lag = float(np.median([shifts[k] for k in best.values()])) if best else 0.0
    at_lag = int(np.argmin(np.abs(shifts - lag)))
    out = []
    for video, error in errors.items():
        shift, at_label, at_best = float(shifts[best[video]]), float(error[at_lag]), float(error[best[video]])
        # a label the curve cannot be compared with (it sees none of the label's negatives, say) is no evidence
        if abs(shift - lag) > tolerance_s and np.isfinite(at_label) and at_label - at_best >= min_fall:
            out.append(Retime(video, labelled[video], round(labelled[video] + shift - lag, 3), at_label, at_best,
                              "pattern", lag))
    return out, lag


def _peak_moves(curves, predicted, labelled, tolerance_s: float, search_s: float) -> tuple[list[Retime], float]:
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
                              _highest_near(curve_t, curve_s, peak + lag, tolerance_s), "peak", lag))
    return out, lag
