"""Clip loading throughput: (a) each clip decoded from the source mp4 (PyAV), (b) the winner's layout — one JPEG
file per frame decoded with PIL, (c) our loader over the frame cache. All three produce the same
16×224×224 normalised train tensors (the `winner` transform preset), single process and with 2 DataLoader
workers, on a dashcam-like 720p H.264 source made by the synthetic generator.

    uv run python bench/loader.py [--videos 6] [--clips 96] [--rounds 3] [--workdir /tmp/curate-bench-loader]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

import av
import cv2
import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from curation.data.dataset import ClipDataset, ClipLoader
from curation.data.memory import keep_freed_memory
from curation.data.transforms import get_preset
from curation.ingest.clips import frame_indices
from curation.ingest.frame_cache import FrameReader
from curation.ingest.pipeline import IngestOptions, ingest
from curation.ingest.probe import decode_frames
from curation.ingest.sources import read_nexar
from curation.synth import generate
from curation.workspace import Workspace

TRANSFORM = get_preset("winner")


class SourceClips(Dataset):
    """(a) every clip decoded from its source mp4 (a seek to the previous keyframe, full 720p frames)."""

    def __init__(self, ds: ClipDataset):
        self.ds, self.transform = ds, TRANSFORM

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        ds = self.ds
        indices = frame_indices(int(ds.end_frame[i]), int(ds.stride[i]), int(ds.n_frames[i]))
        decoded = dict(decode_frames(ds.sources[ds.video_ids[i]], sorted(set(indices))))
        size = (ds.frame_size, ds.frame_size)
        clip = np.stack([cv2.resize(decoded[k], size, interpolation=cv2.INTER_AREA) for k in indices])
        return {"video": self.transform(clip), "label": int(ds.labels[i]), "weight": 1.0, "clip_id": ds.clip_ids[i],
                "index": i}


class JpegFileClips(Dataset):
    """(b) the winning solution's layout: <root>/<video_id>/<index>.jpg, 16 files opened per clip."""

    def __init__(self, ds: ClipDataset, root: Path):
        self.ds, self.root, self.transform = ds, root, TRANSFORM

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        ds = self.ds
        indices = frame_indices(int(ds.end_frame[i]), int(ds.stride[i]), int(ds.n_frames[i]))
        clip = np.stack([np.asarray(Image.open(self.root / ds.video_ids[i] / f"{k}.jpg").convert("RGB"))
                         for k in indices])
        return {"video": self.transform(clip), "label": int(ds.labels[i]), "weight": 1.0, "clip_id": ds.clip_ids[i],
                "index": i}


def make_dashcam_like(path: Path, seed: int) -> None:
    """Re-encode a synthetic video the way a dashcam records: sensor noise and fine texture on every frame,
    ~6 Mbit/s H.264 with a keyframe every second. The flat synthetic scenes alone decode unrealistically fast."""
    rng = np.random.default_rng(seed)
    src = av.open(str(path))
    stream = src.streams.video[0]
    rate = stream.average_rate
    frames = [f.to_ndarray(format="rgb24") for f in src.decode(stream)]
    src.close()
    texture = rng.normal(0, 10, frames[0].shape).astype(np.float32)  # static detail: asphalt, foliage
    tmp = path.with_suffix(".tmp.mp4")
    out = av.open(str(tmp), "w")
    video = out.add_stream("libx264", rate=rate)
    video.width, video.height, video.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
    video.bit_rate = 6_000_000
    video.gop_size = max(1, round(float(rate)))
    video.options = {"preset": "veryfast"}
    for f in frames:
        noisy = f + texture + rng.normal(0, 4, f.shape).astype(np.float32)
        for packet in video.encode(av.VideoFrame.from_ndarray(np.clip(noisy, 0, 255).astype(np.uint8),
                                                              format="rgb24")):
            out.mux(packet)
    for packet in video.encode():
        out.mux(packet)
    out.close()
    tmp.replace(path)


def export_jpeg_files(cache_dir: Path, out: Path) -> None:
    """The same JPEG bytes as the cache, one file per frame."""
    reader = FrameReader(cache_dir)
    ids = list(reader._offset)
    for start in range(0, len(ids), 512):
        part = ids[start:start + 512]
        for fid, data in zip(part, reader.read(part)):
            video_id, index = fid.rsplit(":", 1)
            (out / video_id).mkdir(parents=True, exist_ok=True)
            (out / video_id / f"{index}.jpg").write_bytes(data)


def disk_usage(path: Path) -> tuple[int, int, int]:
    """(apparent bytes, allocated bytes, files)."""
    files = [p for p in path.rglob("*") if p.is_file()]
    return (sum(p.stat().st_size for p in files), sum(p.stat().st_blocks * 512 for p in files), len(files))


def throughput(dataset: Dataset, n_clips: int, workers: int, uint8: bool, batch_size: int = 4) -> float:
    """Clips per second in steady state (the first batch, with worker start-up, is not timed). Batches come
    out normalised float32 either way; `uint8` moves them between processes as uint8 and normalises after."""
    order = torch.utils.data.SubsetRandomSampler(range(len(dataset)), generator=torch.Generator().manual_seed(0))
    loader = ClipLoader(dataset, batch_size, sampler=order, workers=workers, uint8_transport=uint8)
    seen, started = 0, None
    while seen < n_clips:
        for batch in loader:
            if started is None:
                started = time.perf_counter()
                continue
            seen += len(batch["clip_id"])
            if seen >= n_clips:
                break
    return seen / (time.perf_counter() - started)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=6)
    ap.add_argument("--clips", type=int, default=96, help="clips timed per configuration")
    ap.add_argument("--rounds", type=int, default=3, help="repeats per configuration (median reported)")
    ap.add_argument("--workdir", default="/tmp/curate-bench-loader")
    args = ap.parse_args()
    torch.set_num_threads(1)  # per-core figures: one thread in the main process, one per worker
    keep_freed_memory()  # the same malloc settings for all three loaders (see curation/data/memory.py)

    work = Path(args.workdir)
    data = work / "data"
    if not (data / "train.csv").exists():
        t = time.time()
        generate(data, n_train=args.videos, n_test=0, width=1280, height=720, duration_s=10.0, seed=0)
        for i, path in enumerate(sorted((data / "train").glob("*.mp4"))):
            make_dashcam_like(path, seed=i)
        print(f"generated {args.videos} dashcam-like 720p videos in {time.time() - t:.0f} s")
    ws = Workspace.open(work / "ws", backend="lance")
    ingest(ws, read_nexar(data), "bench", IngestOptions(frame_size=256))
    cache_dir = ws.cache_dir("bench")
    files_dir = work / "jpeg_files"
    if files_dir.exists():
        shutil.rmtree(files_dir)
    export_jpeg_files(cache_dir, files_dir)

    ours = ClipDataset.from_revision(ws, ws.resolve("bench/clips"), TRANSFORM)
    n_videos = len(set(ours.video_ids))
    loaders = {"(a) per clip from mp4 (PyAV)": SourceClips(ours),
               "(b) JPEG file per frame + PIL": JpegFileClips(ours, files_dir),
               "(c) curate frame cache": ours}
    modes = {"1 process": (0, False), "2 workers": (2, False), "2 workers, uint8": (2, True)}
    runs = {(name, m): [] for name in loaders for m in modes}
    for _ in range(args.rounds):  # rounds interleave the configurations; the median damps machine noise
        for name, dataset in loaders.items():
            n = max(args.clips // 4, 16) if name.startswith("(a)") else args.clips
            for m, (w, u) in modes.items():
                runs[name, m].append(throughput(dataset, n, workers=w, uint8=u))
    results = {name: {m: statistics.median(runs[name, m]) for m in modes} for name in loaders}

    source = ws.task("bench").root
    print(f"\n{len(ours)} clips over {n_videos} videos of 1280x720 H.264 ({source}); "
          f"16 frames → normalised 16x224x224 train tensors; median clips/s of {args.rounds} rounds "
          "(per core: /2 for 2 workers)")
    print(f"{'loader':<32}" + "".join(f"{m:>18}" for m in modes))
    for name, by_mode in results.items():
        print(f"{name:<32}" + "".join(f"{v:16.1f}/s" for v in by_mode.values()))
    a, b, c = (results[k] for k in loaders)
    for m in modes:
        print(f"{m:<18} (c)/(b) {c[m] / b[m]:5.2f}x  (goal >= 1.2x)   (c)/(a) {c[m] / a[m]:5.1f}x  (goal >= 15x)")
    print(f"our loader's default with workers vs the winner's loader (float out of workers): "
          f"(c) uint8 / (b) float = {c['2 workers, uint8'] / b['2 workers']:.2f}x")
    for name, path in (("(b) JPEG files", files_dir), ("(c) frame cache", cache_dir / "frames.lance")):
        apparent, allocated, files = disk_usage(path)
        print(f"{name:<18} {apparent / 1e6:8.1f} MB apparent, {allocated / 1e6:8.1f} MB on disk, "
              f"{files:6d} files, {files / n_videos:7.1f} files/video")


if __name__ == "__main__":
    main()
