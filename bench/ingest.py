"""Ingest speed with 1 and N worker processes on dashcam-like 720p H.264 (the same source as bench/loader.py),
and the Nexar training set's ingest time extrapolated from the measured cost per source frame.

Configurations: one worker pinned to one core (the per-core baseline), one worker with all cores (the ingest
before worker processes: FFmpeg's decoding threads), and N workers. Each ingests the same videos into a fresh
workspace (nothing cached), `--rounds` times; the median is reported. A frame's cost is counted per source frame (the decoder passes every frame up to the last
one a clip needs), in core-seconds: wall seconds × workers / source frames. The extrapolation divides the
Nexar set's 1.7 M frames by the cores at the measured 2-worker cost per core, and says where the ingest
process — the frame cache's one writer, whose CPU time per frame is measured here too — would cap it.

    uv run python bench/ingest.py [--videos 6] [--seconds 20] [--workers 2] [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import time
from pathlib import Path

# Worker processes are spawned and import this script again: heavy modules are imported inside the functions.
NEXAR_FRAMES = 1_700_000  # 1,500 training videos (reference/nexar.md)


def own_cpu_seconds() -> float:
    """CPU time of this process alone (not its workers)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed_ingest(data: Path, work: Path, workers: int, cores: set[int] | None = None) -> tuple[float, float, int, int]:
    """(wall seconds, this process's CPU seconds, frames decoded into the cache, source frames); `cores`: run
    pinned to these cores (threads and workers inherit it)."""
    from curation.ingest.pipeline import IngestOptions, ingest
    from curation.ingest.layouts import read_nexar
    from curation.workspace import Workspace

    shutil.rmtree(work, ignore_errors=True)
    ws = Workspace.open(work, backend="lance")
    every = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores or every)
    try:
        cpu, start = own_cpu_seconds(), time.perf_counter()
        result = ingest(ws, read_nexar(data), "bench", IngestOptions(frame_size=256), progress=False, workers=workers)
        wall, cpu = time.perf_counter() - start, own_cpu_seconds() - cpu
    finally:
        os.sched_setaffinity(0, every)
    videos = ws.tables.read(ws.tables.head("bench", "videos"), ["n_frames"])["n_frames"].to_pylist()
    return wall, cpu, result.frames_decoded, sum(n for n in videos if n)


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def main():
    from curation.ingest.parallel import default_workers

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=6, help="dashcam-like 720p videos")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each video")
    ap.add_argument("--workers", type=int, default=default_workers(), help="workers compared with 1")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workdir", default="/tmp/curate-bench-ingest")
    args = ap.parse_args()
    work = Path(args.workdir)
    data = work / "data"
    if not (data / "train.csv").exists():
        from loader import make_dashcam_like  # imports torch

        from curation.synth import generate

        t = time.time()
        generate(data, n_train=args.videos, n_test=0, width=1280, height=720, duration_s=args.seconds, seed=0,
                 progress=False)
        for i, path in enumerate(sorted((data / "train").glob("*.mp4"))):
            make_dashcam_like(path, seed=i)
        print(f"generated {args.videos} dashcam-like 720p videos of {args.seconds:g} s in {time.time() - t:.0f} s")

    configurations = {  # name: (workers, cores)
        "1 worker on 1 core": (1, {min(os.sched_getaffinity(0))}),
        "1 worker, all cores (FFmpeg threads)": (1, None),
        f"{args.workers} workers": (args.workers, None),
    }
    runs = {}
    for name, (workers, cores) in configurations.items():
        rounds = [timed_ingest(data, work / "ws", workers, cores) for _ in range(args.rounds)]
        wall = statistics.median(r[0] for r in rounds)
        cpu = statistics.median(r[1] for r in rounds)
        decoded, source = rounds[0][2], rounds[0][3]
        runs[name] = (wall, cpu, decoded, source)
        print(f"{name:<38} {wall:6.2f} s median of {args.rounds} ({', '.join(f'{r[0]:.2f}' for r in rounds)}); "
              f"{source / wall:4.0f} source frames/s; ingest process CPU {cpu:.2f} s")
    print(f"{source} source frames of {args.videos} videos, {decoded} of them decoded into the cache")
    many = runs[f"{args.workers} workers"]
    for name in list(configurations)[:2]:
        print(f"speed-up of {args.workers} workers over {name}: {runs[name][0] / many[0]:.2f}x")
    print("(goal >= 1.7x for 2 workers over 1 on 2 cores)")
    per_frame = many[0] * args.workers / many[3]  # core-seconds per source frame with workers in parallel
    writer = many[1] / many[3]  # the ingest process's own CPU per source frame: probing results, cache writes
    one = runs["1 worker on 1 core"]
    print(f"cost per source frame: {per_frame * 1000:.2f} core-ms with {args.workers} workers, "
          f"{one[0] / one[3] * 1000:.2f} ms on 1 core; the ingest process's own CPU {writer * 1000:.3f} ms")
    print(f"\nNexar training set ({NEXAR_FRAMES / 1e6:.1f} M frames), extrapolated:")
    print(f"{'cores':>6} {'time':>10}  limit")
    for cores in (2, 16, 64):
        workers_time = NEXAR_FRAMES * per_frame / cores
        writer_time = NEXAR_FRAMES * writer
        limit = "the ingest process (one writer)" if writer_time > workers_time else "the workers"
        print(f"{cores:>6} {hours(max(workers_time, writer_time)):>10}  {limit}")


if __name__ == "__main__":
    main()
