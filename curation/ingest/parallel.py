"""How ingest gets its videos probed and their frames into the cache: an engine. `LocalEngine` (the default)
spreads the work over worker processes on this machine; `ray_engine.RayEngine` over a Ray cluster. Both turn
one video at a time into the cache's JPEG bytes (`encode_video`), and the tables do not depend on which one ran.

Engine protocol (used as a context manager around one ingest):
    probe(paths) -> Iterator[Probe]                    in the order of `paths`
    fill(cache, jobs) -> Iterator[(VideoJob, int | DecodeError)]
                                                       frames stored per video (or why it failed), in the order
                                                       the videos finish; the frames are committed to the cache
                                                       by the time the iterator ends"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2

from curation.bounds import MAX_WORKERS
from curation.errors import BadInput, CurateError, Fix
from curation.frames.jpeg import encode_jpeg
from curation.frames.video import DecodeError, Probe, decode_frames, probe_video
from curation.workers import exit_with


def default_workers() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True)
class VideoJob:
    video_id: str
    path: Path
    indices: tuple[int, ...]
    signature: str  # of the source file, recorded in the cache's index


def encode_video(job: VideoJob, size: int, threaded: bool = False) -> list[tuple[int, bytes]]:
    """(index, JPEG bytes) of the frames the job asks for, one raw frame in memory at a time; DecodeError when
    the video breaks off."""
    return [(i, encode_jpeg(frame, size)) for i, frame in decode_frames(job.path, job.indices, threaded)]


def _worker_setup(owner: int) -> None:
    """Workers already use every core between them, so OpenCV's own thread pool would only contend; and a worker
    ends with the ingest process (killed or not)."""
    cv2.setNumThreads(1)
    exit_with(owner)


class LocalEngine:
    """Worker processes on this machine (default: one per core) that probe videos and turn one video each into
    JPEGs; the ingest process is the cache's only writer. Two videos per worker are in flight, so memory holds
    a few videos' JPEGs (and one raw frame per worker) whatever the dataset size. With one worker everything runs
    in the ingest process, FFmpeg's own threads decoding (a long sequential decode gains from them).

    Workers are spawned, not forked: the ingest process runs Lance's threads, which a forked child would inherit
    in an unknown state."""

    def __init__(self, workers: int | None = None):
        if workers is not None and not 0 <= workers <= MAX_WORKERS:
            raise BadInput(f"{workers} worker processes is outside 0 to {MAX_WORKERS}",
                           "use about one per core (the default), or 0 or 1 to decode in this process")
        self.workers = default_workers() if workers is None else max(1, workers)
        self._pool: Executor | None = None

    def __enter__(self):
        if self.workers > 1:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_worker_setup, initargs=(os.getpid(),))
        return self

    def __exit__(self, kind, exc, tb):
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        if kind is BrokenProcessPool:
            raise CurateError("a worker process of the ingest stopped abruptly (killed, out of memory, or started "
                              "from a script without an `if __name__ == \"__main__\":` guard, which worker processes "
                              "need); nothing was registered",
                              Fix("guard the calling script, or ingest with one worker", "one_worker")) from None

    def probe(self, paths: list[Path]) -> Iterator[Probe]:
        if self._pool is None:
            return map(probe_video, paths)
        return self._pool.map(probe_video, paths)  # one at a time: a probe costs far more than its message

    def fill(self, cache, jobs: list[VideoJob]) -> Iterator[tuple[VideoJob, int | DecodeError]]:
        for job, frames in self._encoded(jobs, cache.size):
            yield job, frames if isinstance(frames, DecodeError) else cache.add_video(job.video_id, job.signature,
                                                                                      frames)
        cache.flush()

    def _encoded(self, jobs: list[VideoJob], size: int):
        """Each job with its frames' JPEGs, or the DecodeError that stopped it, in the order they finish."""
        if self._pool is None:
            for job in jobs:
                try:
                    yield job, encode_video(job, size, threaded=True)
                except DecodeError as exc:
                    yield job, exc
            return
        waiting, in_flight = iter(jobs), {}

        def submit_next() -> None:
            job = next(waiting, None)
            if job is not None:
                in_flight[self._pool.submit(encode_video, job, size)] = job

        for _ in range(2 * self.workers):
            submit_next()
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                job = in_flight.pop(future)
                try:
                    yield job, future.result()
                except DecodeError as exc:
                    yield job, exc
                submit_next()
