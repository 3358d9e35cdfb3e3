"""Ingest beyond one machine: Ray tasks probe the videos and decode shards of them into fragments of the
dataset's frame store, which the ingest process commits as one new version of the store (and then writes the
tables as always). The same `encode_video` as on one machine, so the tables and the cached bytes equal a local
ingest's.

Needs `pip install 'curate[distributed]'` (Ray), the cache folder and the videos at the same paths on every
node (a shared file system), and curate installed on every node. Ray is imported only here."""
from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path
from typing import Iterator

from lance.fragment import write_fragments

from curation.errors import BadInput, CurateError, Fix, exception_line
from curation.frames.cache import SCHEMA, frames_table
from curation.ingest.parallel import VideoJob, encode_video
from curation.frames.video import DecodeError, Probe, probe_video


def _probe_many(paths: list[Path]) -> list[Probe]:
    return [probe_video(p) for p in paths]


def _encode_shard(target: str, jobs: list[VideoJob], size: int) -> tuple[list, list]:
    """A task: the shard's videos decoded and written as fragments at `target` (uncommitted); returns the
    fragments and per job the frame indices stored or the DecodeError that stopped it."""
    rows, outcomes = [], []
    for job in jobs:
        try:
            frames = encode_video(job, size)
        except DecodeError as exc:
            outcomes.append((job, exc))
            continue
        rows += [(job.video_id, i, jpeg) for i, jpeg in frames]
        outcomes.append((job, [i for i, _ in frames]))
    if not rows:
        return [], outcomes
    return write_fragments(frames_table(rows), target, schema=SCHEMA), outcomes


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """A cluster address (`host:port` or `ray://host:port`) that answers a TCP connection within `timeout_s`; Ray
    itself retries an unreachable address for minutes without a word."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadInput(f"Ray address {address!r} is not HOST:PORT", "give auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise CurateError(f"no Ray cluster answers at {address} ({exception_line(exc, 80)})",
                          "start a Ray cluster there, check the address, or ingest on this machine "
                          "without Ray") from None


class RayEngine:
    """Probe and decode on a Ray cluster. `address`: a running cluster ("auto", "ray://host:10001"); without
    one a local Ray instance with `num_cpus` is started for the ingest and stopped after it. `videos_per_task`:
    videos decoded by one task into one fragment (a few, so a task's JPEGs fit in its memory)."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None, videos_per_task: int = 4):
        self.address, self.num_cpus, self.videos_per_task = address, num_cpus, max(1, videos_per_task)
        self._started = False
        self._depth = 0  # entered this many times: held across several ingests, Ray starts and stops once

    def __enter__(self):
        if self.address and self.address != "auto" and self._depth == 0:
            check_reachable(self.address)  # before Ray is imported: a wrong address costs no import
        if not self.address:
            # An instance on this machine runs in this interpreter's environment. Under `uv run`, Ray would build
            # its workers an environment of their own (6 s of a test's 14); it reads this when imported.
            os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
        try:
            import ray
        except ImportError:
            raise CurateError("Ray is not installed", Fix("install curate's distributed extra: "
                                                          "pip install 'curate[distributed]'")) from None
        if not ray.is_initialized():
            options = dict(include_dashboard=False, log_to_driver=False)
            with warnings.catch_warnings():  # Ray starts its processes with fork + exec: nothing of Lance runs there
                warnings.filterwarnings("ignore", message="lance is not fork-safe")
                try:
                    ray.init(**({"address": self.address} if self.address else {"num_cpus": self.num_cpus}),
                             **options)
                except ConnectionError as exc:  # `auto` with no cluster on this machine, a cluster gone meanwhile
                    raise CurateError(f"no Ray cluster to join at {self.address} ({exception_line(exc, 80)})",
                                      "start a Ray cluster, give its address, or ingest on this machine "
                                      "without Ray") from None
            self._started = True
        self._depth += 1  # after a start that worked: a failed one is never exited
        self._ray = ray
        return self

    def __exit__(self, kind, exc, tb):
        self._depth -= 1
        if self._started and self._depth == 0:
            self._ray.shutdown()
            self._started = False

    def probe(self, paths: list[Path]) -> Iterator[Probe]:
        task = self._ray.remote(_probe_many)
        shards = [paths[i:i + 16] for i in range(0, len(paths), 16)]
        for probes in self._ray.get([task.remote(shard) for shard in shards]):
            yield from probes

    def fill(self, cache, jobs: list[VideoJob]) -> Iterator[tuple[VideoJob, int | DecodeError]]:
        target = cache.path  # the store itself, a folder or a bucket's prefix that every worker writes to
        task = self._ray.remote(_encode_shard)
        pending = [task.remote(target, jobs[i:i + self.videos_per_task], cache.size)
                   for i in range(0, len(jobs), self.videos_per_task)]
        fragments, stored = [], {}
        while pending:
            done, pending = self._ray.wait(pending, num_returns=1)
            written, outcomes = self._ray.get(done[0])
            fragments += written
            for job, outcome in outcomes:
                if not isinstance(outcome, DecodeError):
                    stored[job.video_id] = {"signature": job.signature, "size": cache.size, "indices": outcome}
                    outcome = len(outcome)
                yield job, outcome
        cache.commit_fragments(fragments, stored)
