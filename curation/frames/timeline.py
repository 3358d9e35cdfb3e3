"""A video's frame timeline: each frame's presentation time in seconds, and every conversion between a frame's
index and a time — the one place they are made, so that labels, clips, curves and exports agree on a video whose
rate varies, drops frames or differs from what its container says.

Frame k is the k-th frame in presentation order; its time is its timestamp less the first shown frame's, so a
video starts at 0 s whatever its container's start time (players show the first frame at 0). A video whose
timestamps sit within `TOLERANCE_S` of k / fps is kept as its rate alone (`times` None): the same numbers as
before timestamps were read, so constant-rate datasets keep their tables.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

TOLERANCE_S = 0.0005  # half a millisecond: clip end times are asked to match their frame's timestamp within 1 ms
GAP_FACTOR = 1.5  # a step this many times the typical one is a dropped frame (or several)
VARIABLE_STEP = 0.1  # steps that differ by more than this share of the typical step: a variable rate


@dataclass(frozen=True)
class Timeline:
    fps: float  # the container's rate (its average rate), used for clip strides
    n_frames: int
    times: tuple[float, ...] | None = None  # seconds of each frame; None: k / fps within TOLERANCE_S

    @classmethod
    def from_timestamps(cls, seconds, fps: float) -> "Timeline":
        """From the frames' presentation times (any order, any start); `fps`: the container's rate."""
        t = np.sort(np.asarray(seconds, dtype=np.float64))
        t = t - t[0] if len(t) else t
        constant = len(t) == 0 or np.abs(t - np.arange(len(t)) / fps).max() <= TOLERANCE_S
        return cls(float(fps), len(t), None if constant else tuple(float(x) for x in t))

    @classmethod
    def of_video(cls, row: dict) -> "Timeline":
        """From a videos-table row (`fps`, `n_frames`, and `frame_times_s` where the rate is not constant; a table
        written before timestamps were read has none, and its videos are taken at their rate)."""
        times = row.get("frame_times_s")
        return cls(float(row["fps"]), int(row["n_frames"]), tuple(times) if times is not None else None)

    @cached_property
    def _seconds(self) -> np.ndarray:
        """`times` as an array, made once (the conversions and findings search and difference it)."""
        return np.asarray(self.times, dtype=np.float64)

    @property
    def constant(self) -> bool:
        return self.times is None

    def time_of(self, index: int) -> float:
        """Frame `index`'s time in seconds."""
        return self.times[index] if self.times is not None else index / self.fps

    def end_of(self, index: int) -> float:
        """When frame `index` stops being shown: the next frame's time (the last frame: one typical step on)."""
        return self.time_of(index + 1) if index + 1 < self.n_frames else self.time_of(index) + self.frame_step_s

    def times_of(self, indices) -> np.ndarray:
        idx = np.asarray(indices, dtype=np.int64)
        return self._seconds[idx] if self.times is not None else idx / self.fps

    def nearest(self, t: float) -> int:
        """The frame whose time is nearest `t` (clamped to the video)."""
        if self.times is None:
            return min(max(int(round(t * self.fps)), 0), self.n_frames - 1)
        arr = self._seconds
        k = int(np.searchsorted(arr, t))
        if k == 0:
            return 0
        if k >= len(arr):
            return len(arr) - 1
        return k if arr[k] - t < t - arr[k - 1] else k - 1

    def last_at_or_before(self, t: float) -> int:
        """The last frame shown at or before `t` (-1 when `t` is before the first)."""
        if self.times is None:
            return min(int(t * self.fps), self.n_frames - 1)
        return min(int(np.searchsorted(self._seconds, t + 1e-9, side="right")) - 1, self.n_frames - 1)

    def last_before(self, t: float) -> int:
        """The last frame shown strictly before `t` (a segment's end is not in it)."""
        if self.times is None:
            return min(int(round(t * self.fps)) - 1, self.n_frames - 1)
        return min(int(np.searchsorted(self._seconds, t - 1e-9, side="left")) - 1, self.n_frames - 1)

    @property
    def duration_s(self) -> float:
        """The last frame's time plus one typical frame: where the video ends."""
        if self.times is None:
            return self.n_frames / self.fps if self.fps else 0.0
        return self.times[-1] + self.frame_step_s

    @property
    def frame_step_s(self) -> float:
        """The typical (median) time between frames."""
        if self.times is None or self.n_frames < 2:
            return 1 / self.fps if self.fps else 0.0
        return float(np.median(np.diff(self._seconds)))

    @property
    def mean_fps(self) -> float:
        """Frames per second over the whole video, from its timestamps."""
        if self.times is None or self.n_frames < 2:
            return self.fps
        return (self.n_frames - 1) / (self.times[-1] - self.times[0])

    def _steps(self) -> tuple[np.ndarray, np.ndarray]:
        """The steps between frames, and which of them are gaps: a step over GAP_FACTOR times the typical one
        whose neighbours are not (a run of long steps is a slower rate, not dropped frames)."""
        steps = np.diff(self._seconds)
        long = steps > GAP_FACTOR * np.median(steps)
        before, after = np.r_[False, long[:-1]], np.r_[long[1:], False]
        return steps, long & ~before & ~after

    @property
    def variable(self) -> bool:
        """The steps between frames (dropped frames aside) differ by more than VARIABLE_STEP of the typical one:
        more than timestamp rounding (a millisecond time base puts 33 and 34 ms steps in a 30 fps video)."""
        if self.times is None or self.n_frames < 3:
            return False
        steps, gap = self._steps()
        kept = steps[~gap]
        return bool(kept.max() - kept.min() > VARIABLE_STEP * np.median(kept))

    def gaps(self) -> list[tuple[float, float]]:
        """(time, seconds missing) where frames were dropped."""
        if self.times is None or self.n_frames < 3:
            return []
        steps, gap = self._steps()
        typical = float(np.median(steps[~gap]))
        return [(float(self.times[k]), float(steps[k] - typical)) for k in np.flatnonzero(gap)]

    def findings(self) -> list[str]:
        """What a user should know about this timeline, in words: a variable rate, dropped frames, or a container
        rate that disagrees with the timestamps. Empty where frame k is at k / fps."""
        if self.times is None:
            return []
        out = []
        if self.variable:
            rates = 1 / np.diff(self._seconds)
            out.append(f"variable frame rate ({rates.min():.3g}–{rates.max():.3g} fps, mean {self.mean_fps:.4g})")
        gaps = self.gaps()
        if gaps:
            out.append(f"{len(gaps)} gap{'s' if len(gaps) > 1 else ''} of dropped frames (first at {gaps[0][0]:.2f} s, "
                       f"{sum(g for _, g in gaps):.2f} s missing in all)")
        if not out:
            steps, _ = self._steps()
            out.append(f"the container says {self.fps:.4g} fps; its timestamps run at {1 / steps.mean():.4g} fps (the "
                       f"last frame is at {self.times[-1]:.3f} s, not {(self.n_frames - 1) / self.fps:.3f} s)")
        return out
