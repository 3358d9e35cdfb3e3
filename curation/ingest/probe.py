"""Video probing and decoding with decord; a broken file becomes a status, never an exception."""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curation.errors import exception_line

VIDEO_EXTENSIONS = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}


@dataclass(frozen=True)
class Probe:
    status: str  # ok | corrupt | missing | unsupported | invalid (the labels do not fit the video)
    reason: str = ""
    fps: float = 0.0
    n_frames: int = 0
    width: int = 0
    height: int = 0

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.fps if self.fps else 0.0


@contextlib.contextmanager
def quiet_native_stderr():
    """decord and ffmpeg print errors from C straight to fd 2; hide them (we report our own line)."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def open_reader(path: Path):
    import decord

    decord.logging.set_level(decord.logging.QUIET)
    with quiet_native_stderr():
        return decord.VideoReader(str(path), num_threads=1)


def _stream_kinds(path: Path) -> set[str] | None:
    """The kinds of streams in a container (video, audio, …), or None when the container does not open."""
    import av

    try:
        with av.open(str(path)) as container:
            return {stream.type for stream in container.streams}
    except Exception:  # PyAV raises many kinds for broken files; the decoder's own probe reports them
        return None


def probe_video(path: str | Path) -> Probe:
    path = Path(path)
    if not path.exists():
        return Probe("missing", "file not found")
    if path.suffix.lower() not in VIDEO_EXTENSIONS:
        return Probe("unsupported", f"extension {path.suffix or '(none)'} is not a video type we read")
    size = path.stat().st_size
    if size == 0:
        return Probe("corrupt", "empty file (0 bytes)")
    streams = _stream_kinds(path)
    if streams is not None and "video" not in streams:
        return Probe("unsupported", "no video stream" + (" (audio only)" if "audio" in streams else ""))
    try:
        reader = open_reader(path)
    except Exception as exc:
        return Probe("corrupt", f"cannot open: {exception_line(exc)}")
    n, fps = len(reader), float(reader.get_avg_fps())
    if n <= 0 or not np.isfinite(fps) or fps <= 0:
        return Probe("unsupported", f"no decodable frames or frame rate (frames={n}, fps={fps:g})")
    height, width = reader[0].shape[:2] if n else (0, 0)
    return Probe("ok", "", fps=fps, n_frames=n, width=int(width), height=int(height))


def decode_frames(path: str | Path, indices: list[int], chunk: int = 32):
    """Yield (index, HxWx3 uint8) for sorted `indices`; raises on a decode failure."""
    reader = open_reader(Path(path))
    for start in range(0, len(indices), chunk):
        part = indices[start:start + chunk]
        with quiet_native_stderr():
            batch = reader.get_batch(part).asnumpy()
        yield from zip(part, batch)

