"""Video probing and decoding with PyAV (FFmpeg); a broken file becomes a status, never an exception."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from curation.errors import exception_line
from curation.frames.timeline import Timeline

VIDEO_EXTENSIONS = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}


@dataclass(frozen=True)
class Probe:
    status: str  # ok | corrupt | missing | unsupported | invalid (the labels do not fit the video)
    reason: str = ""
    fps: float = 0.0
    n_frames: int = 0
    width: int = 0
    height: int = 0
    times: tuple[float, ...] | None = None  # each frame's seconds where they are not k / fps (`Timeline`)

    @cached_property
    def timeline(self) -> Timeline:
        """Made once per probe: ingest asks it for every frame and clip of the video."""
        return Timeline(self.fps, self.n_frames, self.times)

    @property
    def duration_s(self) -> float:
        return self.timeline.duration_s if self.fps else 0.0


class DecodeError(RuntimeError):
    """A video that opens but does not decode to the frames asked for (truncated, broken stream)."""


def _video_stream(container, threaded: bool = False):
    """The first video stream; `threaded`: FFmpeg's frame and slice threads, which pay off on a long
    sequential decode (ingest) but not on short clip reads in already-parallel loader workers
    (bench/decode.py)."""
    stream = container.streams.video[0]
    stream.thread_type = "AUTO" if threaded else "SLICE"
    stream.codec_context.thread_count = 0 if threaded else 1
    return stream


def _shown_stamps(container, stream) -> list[tuple[int | None, int | None]]:
    """(pts, dts) of every packet that becomes a shown frame, in decode order (≠ presentation order with
    B-frames): empty packets and those an edit list cuts are left out, as the decoder leaves their frames out."""
    return [(p.pts, p.dts) for p in container.demux(stream) if p.size and not p.is_discard]


def _frame_times(container, stream) -> tuple[int, list[float] | None]:
    """The shown frames' count, and each one's presentation time in seconds (`Timeline` sorts them). No times
    when the packets carry no usable timestamps: the frames are then taken at the stream's rate."""
    stamps = [pts if pts is not None else dts for pts, dts in _shown_stamps(container, stream)]
    usable = stamps and None not in stamps and len(set(stamps)) == len(stamps)
    return len(stamps), [float(t * stream.time_base) for t in stamps] if usable else None


def probe_video(path: str | Path) -> Probe:
    import av

    path = Path(path)
    if not path.exists():
        return Probe("missing", "file not found")
    if path.suffix.lower() not in VIDEO_EXTENSIONS:
        return Probe("unsupported", f"extension {path.suffix or '(none)'} is not a video type we read")
    if path.stat().st_size == 0:
        return Probe("corrupt", "empty file (0 bytes)")
    try:
        with av.open(str(path)) as container:
            kinds = {stream.type for stream in container.streams}
            if "video" not in kinds:
                return Probe("unsupported", "no video stream" + (" (audio only)" if "audio" in kinds else ""))
            stream = _video_stream(container)
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else 0.0
            first = next(iter(container.decode(stream)), None)
            container.seek(0)
            n, times = _frame_times(container, stream)
    except (av.error.FFmpegError, OSError, ValueError) as exc:  # PyAV's errors for unreadable files
        return Probe("corrupt", f"cannot open: {_av_reason(exc)}")
    if first is None or n <= 0 or not np.isfinite(fps) or fps <= 0:
        return Probe("unsupported", f"no decodable frames or frame rate (frames={n}, fps={fps:g})")
    timeline = Timeline.from_timestamps(times, fps) if times else Timeline(fps, n)
    return Probe("ok", "", fps=fps, n_frames=n, width=int(first.width), height=int(first.height),
                 times=timeline.times)


def decode_frames(path: str | Path, indices, threaded: bool = False):
    """Yield (index, HxWx3 uint8 RGB) for the frames at `indices` (frame k = the k-th in presentation order),
    in order; raises DecodeError when the video does not reach them. Decoding starts at the keyframe before
    the first frame asked for (found through the packets' timestamps), so a late clip costs one GOP, not the
    whole video."""
    import av

    wanted = sorted(set(indices))
    if not wanted:
        return
    k, target = -1, 0
    try:
        with av.open(str(path)) as container:
            stream = _video_stream(container, threaded)
            ordinal = _seek_before(container, stream, wanted[0]) if wanted[0] > 0 else None
            for n, frame in enumerate(container.decode(stream)):
                k = n if ordinal is None else ordinal.get(frame.pts, -1)
                if k > wanted[target]:
                    break
                if k == wanted[target]:
                    yield k, frame.to_ndarray(format="rgb24")
                    target += 1
                    if target == len(wanted):
                        return
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise DecodeError(f"{Path(path).name}: {_av_reason(exc)}") from exc
    raise DecodeError(f"{Path(path).name}: frame {wanted[target]} is missing (decoding stopped at frame {k})")


def _seek_before(container, stream, first: int) -> dict[int, int] | None:
    """Seek to the keyframe at or before frame `first`; the map pts → frame number, or None (then decoding
    restarts from the beginning and frames are counted) when the packets carry no usable timestamps."""
    pts = sorted(pts for pts, _ in _shown_stamps(container, stream) if pts is not None)
    container.seek(0, stream=stream)
    if first >= len(pts) or len(set(pts)) != len(pts):
        return None
    container.seek(pts[first], stream=stream, backward=True, any_frame=False)
    return {t: k for k, t in enumerate(pts)}


def _av_reason(exc: Exception) -> str:
    """FFmpeg's own words ("Invalid data found when processing input"), without its error number."""
    return getattr(exc, "strerror", None) or exception_line(exc)
