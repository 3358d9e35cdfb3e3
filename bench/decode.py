"""Decoder throughput: decord (the old decoder) and TorchCodec (PyTorch's decoder, on the CPU; it loads the
system's FFmpeg: Debian's `ffmpeg` package) against PyAV (curation.frames.video.decode_frames) with one thread,
slice threads and frame+slice threads (thread count: FFmpeg's choice), on a dashcam-like 720p H.264 video made
by the synthetic generator.

Two patterns: the ingest pass (one sequential decode keeping every 4th frame) and the fallback clip read
(16 frames at stride 4 ending at a random frame, as ClipDataset reads a clip missing from the cache; a decoder is
opened per clip, as there). Frames are compared with PyAV's (one thread): pixel for pixel, or the mean absolute
difference where a decoder converts colour its own way. decord and TorchCodec are in the `bench` dependency
group only:

    uv run --group bench python bench/decode.py [--seconds 20] [--clips 30] [--rounds 5]
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import time
from pathlib import Path

import numpy as np

from curation.frames import video as probe
from curation.synth import generate


def decord_frames(path: Path, indices: list[int]):
    import decord

    reader = decord.VideoReader(str(path), num_threads=1)
    for start in range(0, len(indices), 32):
        part = indices[start:start + 32]
        yield from zip(part, reader.get_batch(part).asnumpy())


def pyav_frames(thread_type: str, threads: int):
    def read(path: Path, indices: list[int]):
        saved = probe._video_stream

        def stream_with(container, threaded=False):
            stream = container.streams.video[0]
            stream.thread_type, stream.codec_context.thread_count = thread_type, threads
            return stream

        probe._video_stream = stream_with
        try:
            yield from probe.decode_frames(path, indices)
        finally:
            probe._video_stream = saved
    return read


def torchcodec_frames(seek_mode: str, threads: int):
    """TorchCodec's VideoDecoder: `exact` scans the file for every frame's time when opened, `approximate` trusts
    the header's rate."""
    def read(path: Path, indices: list[int]):
        from torchcodec.decoders import VideoDecoder

        wanted = sorted(set(indices))
        batch = VideoDecoder(str(path), seek_mode=seek_mode, num_ffmpeg_threads=threads).get_frames_at(indices=wanted)
        yield from zip(wanted, batch.data.permute(0, 2, 3, 1).numpy())
    return read


DECODERS = {"decord (1 thread)": decord_frames, "PyAV (1 thread)": pyav_frames("SLICE", 1),
            "PyAV (slice threads)": pyav_frames("SLICE", 0), "PyAV (frame+slice)": pyav_frames("AUTO", 0),
            "TorchCodec (1 thread, exact)": torchcodec_frames("exact", 1),
            "TorchCodec (1 thread, approx.)": torchcodec_frames("approximate", 1),
            "TorchCodec (FFmpeg's threads)": torchcodec_frames("exact", 0)}


def timed(read, path: Path, jobs: list[list[int]], rounds: int) -> tuple[float, list]:
    """Median seconds over `rounds` passes, and the frames of the last."""
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        out = [dict(read(path, job)) for job in jobs]
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the 720p video")
    parser.add_argument("--clips", type=int, default=30, help="random clips for the fallback pattern")
    parser.add_argument("--rounds", type=int, default=5, help="passes per decoder; the median is shown")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/curate-bench-decode"))
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    generate(args.workdir / "d", n_train=2, n_test=1, width=1280, height=720, duration_s=args.seconds,
             test_duration_s=1.0, seed=3, progress=False)
    path = max((args.workdir / "d" / "train").glob("*.mp4"), key=lambda p: p.stat().st_size)
    info = probe.probe_video(path)
    print(f"{path.name}: {info.width}x{info.height}, {info.n_frames} frames at {info.fps:.2f} fps")
    rng = random.Random(0)
    ends = [rng.randrange(60, info.n_frames) for _ in range(args.clips)]
    patterns = {"ingest (every 4th frame, one pass)": [list(range(0, info.n_frames, 4))],
                "clip read (16 frames, stride 4)": [[e - 4 * k for k in range(15, -1, -1)] for e in ends]}
    for name, jobs in patterns.items():
        frames = sum(len(j) for j in jobs)
        results = {d: timed(read, path, jobs, args.rounds) for d, read in DECODERS.items()}
        base = results["decord (1 thread)"][0]
        ours, reference = results["PyAV (1 thread)"]
        print(f"\n{name}: {frames} frames kept")
        for d, (seconds, out) in results.items():
            diff = max(float(np.abs(a[k].astype(np.int16) - b[k]).mean()) for a, b in zip(out, reference) for k in b)
            print(f"  {d:<30} {frames / seconds:7.1f} frames/s  {base / seconds:5.2f}x decord  "
                  f"{ours / seconds:5.2f}x PyAV  " + ("identical frames" if diff == 0 else f"mean |Δ| {diff:.2f}"))


if __name__ == "__main__":
    main()
