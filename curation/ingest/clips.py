"""Clip geometry (which frames a clip reads) and label rules (which clips are positive)."""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

from curation.errors import BadInput

EVAL_TAUS = (0.5, 1.0, 1.5)  # seconds before the event the competition's test positives end
_FIELD = {"clip frames": "n_frames", "clip seconds": "span_s", "stride": "stride", "anchor every": "anchor_every"}
MAX_FRAMES = 1_000_000  # a frame step past any video's length (nine hours at 30 fps): more is a mistyped number


@dataclass(frozen=True)
class ClipConfig:
    """A clip is `n_frames` frames spanning about `span_s` seconds, ending at an anchor frame.

    The stride comes from each video's own fps (30 fps, 2 s, 16 frames → stride 4) unless fixed.
    Anchors are placed every `anchor_every` frames back from the last usable frame; 0 means twice
    the stride, so neighbouring clips share cached frames.
    """

    n_frames: int = 16
    span_s: float = 2.0
    stride: int = 0
    anchor_every: int = 0

    def __post_init__(self):
        for name, ok, expected in (
                ("clip frames", isinstance(self.n_frames, int) and 1 <= self.n_frames <= 1024, "1 to 1024"),
                ("clip seconds", isinstance(self.span_s, (int, float)) and 0 < self.span_s <= 3600, "above 0"),
                ("stride", isinstance(self.stride, int) and 0 <= self.stride <= MAX_FRAMES,
                 f"0 (from the clip seconds) to {MAX_FRAMES}"),
                ("anchor every", isinstance(self.anchor_every, int) and 0 <= self.anchor_every <= MAX_FRAMES,
                 f"0 (twice the stride) to {MAX_FRAMES}")):
            if not ok:
                raise BadInput(f"{name} = {getattr(self, _FIELD[name])!r} is invalid", f"use {expected}")

    def stride_for(self, fps: float) -> int:
        if self.stride:
            return self.stride
        return max(1, round(self.span_s * fps / self.n_frames))

    def anchor_step(self, fps: float) -> int:
        return self.anchor_every or 2 * self.stride_for(fps)

    def to_dict(self) -> dict:
        return asdict(self)


def frame_indices(end_frame: int, stride: int, n_frames: int) -> list[int]:
    """The frames of a clip, oldest first; clamped at 0 for clips longer than the video's start."""
    return [max(0, end_frame - (n_frames - 1 - k) * stride) for k in range(n_frames)]


def anchors(n_video_frames: int, step: int, min_end: int, last: int | None = None) -> list[int]:
    """Anchor frames every `step` back from `last` (default: the last frame), not before `min_end`."""
    last = n_video_frames - 1 if last is None else min(last, n_video_frames - 1)
    if last < 0:
        return []
    found = list(range(last, min_end - 1, -step))
    return sorted(found or [last])


@dataclass(frozen=True)
class LabelRule:
    """`alert`: 1 from alert time to event time (the winning Nexar recipe);
    `horizon:S`: 1 when the clip ends within S seconds before the event."""

    name: str
    horizon_s: float | None = None

    @classmethod
    def parse(cls, text: str) -> "LabelRule":
        text = text.strip()
        if text == "alert":
            return cls("alert")
        m = re.fullmatch(r"horizon:(\d+(?:\.\d+)?)", text)
        if m and float(m[1]) > 0:
            return cls("horizon", float(m[1]))
        raise BadInput(f"unknown label rule {text!r}", "use 'alert' or 'horizon:SECONDS' (e.g. horizon:1.5)")

    def __str__(self) -> str:
        return self.name if self.horizon_s is None else f"horizon:{self.horizon_s:g}"

    # Without an alert time the alert rule falls back to this horizon (recorded in the ingest summary).
    FALLBACK_HORIZON_S = 1.5

    def label(self, end_time_s: float, event_s: float | None, alert_s: float | None) -> int:
        if event_s is None or end_time_s > event_s:
            return 0
        if self.name == "alert":
            start = alert_s if alert_s is not None and not math.isnan(alert_s) else event_s - self.FALLBACK_HORIZON_S
        else:
            start = event_s - self.horizon_s
        return int(end_time_s >= start)
