"""Ingest's probing, decoding and JPEG encoding spread over worker processes. Each worker turns one video into
the cache's JPEG bytes; the ingest process stays the frame cache's only writer. At most two videos per worker
are in flight, so memory holds a few videos' JPEGs (and one raw frame per worker) whatever the dataset size.

Workers are started with "spawn": the ingest process has Lance's threads running, which a forked child would
inherit in an unknown state."""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np
import simplejpeg

from curation.errors import CurateError, Fix
from curation.ingest.probe import DecodeError, Probe, decode_frames, probe_video


def default_workers() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def encode_jpeg(frame: np.ndarray, size: int, quality: int = 90) -> bytes:
    """Squash to size×size (as the winning solution did; area interpolation for downscaling) and encode."""
    small = cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA)
    return simplejpeg.encode_jpeg(np.ascontiguousarray(small), quality=quality, colorspace="RGB")


@dataclass(frozen=True)
class VideoJob:
    video_id: str
    path: Path
    indices: tuple[int, ...]


def encode_video(job: VideoJob, size: int, threaded: bool = False) -> list[tuple[int, bytes]]:
    """(index, JPEG bytes) of the frames the job asks for, one raw frame in memory at a time; DecodeError when
    the video breaks off."""
    return [(i, encode_jpeg(frame, size)) for i, frame in decode_frames(job.path, job.indices, threaded)]


def _worker_setup(parent: int) -> None:
    """Workers already use every core between them, so OpenCV's own thread pool would only contend; and a worker
    exits when the ingest process is gone (killed), instead of waiting forever for jobs on a queue whose other
    end it holds itself."""
    cv2.setNumThreads(1)

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


@contextmanager
def worker_pool(workers: int):
    """A process pool of `workers`, or None for 1 (everything then runs in this process)."""
    if workers <= 1:
        yield None
        return
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_worker_setup, initargs=(os.getpid(),)) as pool:
            yield pool
    except BrokenProcessPool:
        raise CurateError("a worker process of the ingest stopped abruptly (killed, out of memory, or started from "
                          "a script without an `if __name__ == \"__main__\":` guard, which worker processes need); "
                          "nothing was registered",
                          Fix("guard the calling script, or ingest with one worker", "one_worker")) from None


def probe_videos(pool: Executor | None, paths: list[Path]) -> Iterator[Probe]:
    """`probe_video` of each path, in order."""
    if pool is None:
        yield from map(probe_video, paths)
    else:
        yield from pool.map(probe_video, paths, chunksize=8)


def encoded_videos(pool: Executor | None, jobs: Iterable[VideoJob], size: int, workers: int = 1,
                   ) -> Iterator[tuple[VideoJob, list[tuple[int, bytes]] | DecodeError]]:
    """Each job with its frames' JPEGs, or the DecodeError that stopped it, in the order they finish (two jobs
    per worker in flight). In one process FFmpeg's threads decode (a long sequential decode gains from them);
    workers decode on one thread each."""
    if pool is None:
        for job in jobs:
            try:
                yield job, encode_video(job, size, threaded=True)
            except DecodeError as exc:
                yield job, exc
        return
    jobs = iter(jobs)
    in_flight = {}

    def submit_next() -> None:
        job = next(jobs, None)
        if job is not None:
            in_flight[pool.submit(encode_video, job, size)] = job

    for _ in range(2 * workers):
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
