"""Clip loading throughput per core, and the frame-store candidates behind it.

For each training size (224, 112 and 64 px by default), loaders that produce the same 16×S×S normalised train
tensors (the `winner` transform preset at size S), single process (= one core) and with 2 DataLoader workers,
on dashcam-like 720p H.264 made by the synthetic generator:
  (a) each clip decoded from the source mp4 (PyAV), at 224 only;
  (b) the winner's layout: one 256×256 JPEG file per frame, decoded in full with PIL;
  (c) our loader: the frame cache (JPEG bytes in one Lance dataset), decoded at the smallest power-of-two scale
      that keeps the frame at least S px (libjpeg-turbo's DCT scaling);
  (c0) the same without DCT scaling (every frame decoded at 256), where (c) scales;
  (d) a frame cache made at the training resolution (S·256/224, the recipe's 256→224 geometry), where smaller.
Then each decoder alone, per 16-frame clip: PIL, simplejpeg, torchvision (libjpeg-turbo), OpenCV, DCT-scaled,
and short H.264 segments per clip decoded with PyAV; bytes per clip for each store. GPU decode (nvJPEG) needs a
GPU: bench/gpu.py.

    uv run python bench/loader.py [--sizes 224,112,64] [--videos 6] [--clips 96] [--rounds 3]
"""
from __future__ import annotations

import argparse
import io
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
from torchvision.io import decode_jpeg as torchvision_decode_jpeg

from curation.data.dataset import ClipDataset, ClipLoader
from curation.data.memory import keep_freed_memory
from curation.data.transforms import get_preset
from curation.frames.cache import FrameReader, cache_size_for
from curation.frames.jpeg import decode_jpeg
from curation.ingest.pipeline import IngestOptions, ingest
from curation.ingest.layouts import read_nexar
from curation.synth import generate
from curation.workspace import Workspace


class SourceClips(Dataset):
    """(a) every clip decoded from its source mp4 (a seek to the previous keyframe, full 720p frames)."""

    def __init__(self, ds: ClipDataset):
        self.ds, self.transform = ds, ds.transform

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        ds = self.ds
        clip = ds._source_frames(i)  # what our loader does for a clip missing from the cache
        return {"video": self.transform(clip), "label": int(ds.labels[i]), "weight": 1.0, "clip_id": ds.clip_ids[i],
                "index": i}


class JpegFileClips(Dataset):
    """(b) the winning solution's layout: <root>/<video_id>/<index>.jpg, 16 files opened per clip."""

    def __init__(self, ds: ClipDataset, root: Path):
        self.ds, self.root, self.transform = ds, root, ds.transform

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        ds = self.ds
        clip = np.stack([np.asarray(Image.open(self.root / ds.video_ids[i] / f"{k}.jpg").convert("RGB"))
                         for k in ds._indices(i)])
        return {"video": self.transform(clip), "label": int(ds.labels[i]), "weight": 1.0, "clip_id": ds.clip_ids[i],
                "index": i}


class FullDecode(ClipDataset):
    """(c0) our loader with every frame decoded at the cache's size, whatever the training size."""

    def frames(self, i: int, min_side: int = 0) -> np.ndarray:
        return super().frames(i, 0)


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


def h264_segment(frames: np.ndarray) -> bytes:
    """One clip's frames as a short H.264 segment: one keyframe, then P-frames; CRF 23, tuned for fast decoding
    (CAVLC, no deblocking), the fastest H.264 to read."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": "23", "bf": "0", "g": str(len(frames)), "tune": "fastdecode"}
        for f in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        out.mux(stream.encode())
    return buf.getvalue()


def decode_h264_segment(data: bytes) -> np.ndarray:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "NONE"  # one core, like the other decoders here
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])


def pil_decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def decoder_table(ours: ClipDataset, small: dict[int, ClipDataset], sizes: list[int], n_clips: int = 48) -> None:
    """Each decoder alone on the same clips: ms of one core per 16-frame clip, and the bytes each stores per clip."""
    reader = FrameReader(ours.cache.root)
    picked = np.random.default_rng(0).choice(len(ours), min(n_clips, len(ours)), replace=False)
    clips = [reader.read(ours._frame_ids(int(i))) for i in picked]
    tensors = [[torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in c] for c in clips]
    candidates = {
        "PIL (the winner's), 256 px": (lambda k: [pil_decode(b) for b in clips[k]], clips),
        "OpenCV imdecode, 256 px": (lambda k: [cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR)
                                               for b in clips[k]], clips),
        "torchvision decode_jpeg (libjpeg-turbo)": (lambda k: [torchvision_decode_jpeg(t) for t in tensors[k]], clips),
        "simplejpeg, 256 px": (lambda k: [decode_jpeg(b) for b in clips[k]], clips),
    }
    for size in sizes:
        if 2 * size <= 256:  # DCT scaling applies
            candidates[f"simplejpeg DCT-scaled for {size} px"] = (
                lambda k, s=size: [decode_jpeg(b, min_side=s) for b in clips[k]], clips)
        if size in small:
            r = FrameReader(small[size].cache.root)
            own = [r.read(small[size]._frame_ids(int(i))) for i in picked]
            candidates[f"simplejpeg, cache at {small[size].frame_size} px"] = (
                lambda k, own=own: [decode_jpeg(b) for b in own[k]], own)
    segments = [h264_segment(np.stack([decode_jpeg(b) for b in c])) for c in clips]
    candidates["H.264 segment per clip (PyAV), 256 px"] = (lambda k: decode_h264_segment(segments[k]),
                                                            [[s] for s in segments])
    print(f"\neach decoder alone, one core, median of 3 passes over {len(clips)} clips of 16 frames")
    print(f"{'decoder':<44}{'ms/clip':>9}{'KB/clip stored':>16}{'shape':>16}")
    for name, (decode, stored) in candidates.items():
        passes = []
        for _ in range(3):
            started = time.perf_counter()
            for k in range(len(clips)):
                out = decode(k)
            passes.append((time.perf_counter() - started) / len(clips))
        kb = np.mean([sum(len(b) for b in c) for c in stored]) / 1e3
        print(f"{name:<44}{statistics.median(passes) * 1e3:9.2f}{kb:16.1f}{tuple(np.shape(out[0]))!s:>16}")
    print(f"(H.264 segments: one per clip, so overlapping clips store their shared frames again: "
          f"{len(ours) * np.mean([len(s) for s in segments]) / 1e6:.1f} MB for the {len(ours)} clips against "
          f"{disk_usage(ours.cache.root / 'frames.lance')[0] / 1e6:.1f} MB of cache)")


def training_size_cache(ws: Workspace, data: Path, size: int) -> ClipDataset | None:
    """(d) a frame cache made at the training resolution (`cache_size_for`: S·256/224 px, a multiple of 8);
    None where that is the default cache's size."""
    frame_size = cache_size_for(size)
    if frame_size >= 256:
        return None
    name = f"bench{frame_size}"
    ingest(ws, read_nexar(data), name, IngestOptions(frame_size=frame_size), progress=False)
    return ClipDataset.from_revision(ws, ws.resolve(f"{name}/clips"), get_preset("winner", size=size))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="224,112,64", help="training sizes (px), comma-separated")
    ap.add_argument("--videos", type=int, default=6)
    ap.add_argument("--clips", type=int, default=96, help="clips timed per configuration")
    ap.add_argument("--rounds", type=int, default=3, help="repeats per configuration (median reported)")
    ap.add_argument("--workdir", default="/tmp/curate-bench-loader")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    torch.set_num_threads(1)  # per-core figures: one thread in the main process, one per worker
    keep_freed_memory()  # the same malloc settings for all loaders (see curation/data/memory.py)

    work = Path(args.workdir)
    data = work / "data"
    if not (data / "train.csv").exists():
        t = time.time()
        generate(data, n_train=args.videos, n_test=0, width=1280, height=720, duration_s=10.0, seed=0)
        for i, path in enumerate(sorted((data / "train").glob("*.mp4"))):
            make_dashcam_like(path, seed=i)
        print(f"generated {args.videos} dashcam-like 720p videos in {time.time() - t:.0f} s")
    ws = Workspace.open(work / "ws", backend="lance")
    ingest(ws, read_nexar(data), "bench", IngestOptions(frame_size=256), progress=False)
    cache_dir = ws.cache("bench").root
    files_dir = work / "jpeg_files"
    if files_dir.exists():
        shutil.rmtree(files_dir)
    export_jpeg_files(cache_dir, files_dir)

    modes = {"1 process": (0, False), "2 workers": (2, False), "2 workers, uint8": (2, True)}
    loaders, small = {}, {}
    revision = ws.resolve("bench/clips")
    for size in sizes:
        ours = ClipDataset.from_revision(ws, revision, get_preset("winner", size=size))
        if size == 224:
            loaders[size, "(a) per clip from mp4 (PyAV)"] = SourceClips(ours)
        loaders[size, "(b) JPEG file per frame + PIL"] = JpegFileClips(ours, files_dir)
        if 2 * size <= 256:  # DCT scaling applies
            loaders[size, "(c0) frame cache, full decode"] = FullDecode.from_revision(ws, revision, ours.transform)
        loaders[size, "(c) curate frame cache"] = ours
        if (own := training_size_cache(ws, data, size)) is not None:
            small[size] = own
            loaders[size, f"(d) frame cache at {own.frame_size} px"] = own
    runs = {(key, m): [] for key in loaders for m in modes}
    for _ in range(args.rounds):  # rounds interleave the configurations; the median damps machine noise
        for key, dataset in loaders.items():
            n = max(args.clips // 4, 16) if key[1].startswith("(a)") else args.clips
            for m, (w, u) in modes.items():
                runs[key, m].append(throughput(dataset, n, workers=w, uint8=u))
    results = {key: {m: statistics.median(runs[key, m]) for m in modes} for key in loaders}

    ours = loaders[sizes[0], "(c) curate frame cache"]
    print(f"\n{len(ours)} clips over {len(set(ours.video_ids))} videos of 1280x720 H.264 ({data}); 16 frames → "
          f"normalised 16xSxS train tensors; median clips/s of {args.rounds} rounds (per core: /2 for 2 workers)")
    for size in sizes:
        print(f"\nS = {size} px" + " " * 30 + "".join(f"{m:>18}" for m in modes))
        winner = results[size, "(b) JPEG file per frame + PIL"]
        for (s, name), by_mode in results.items():
            if s == size:
                print(f"{name:<40}" + "".join(f"{v:16.1f}/s" for v in by_mode.values()))
        for (s, name), by_mode in results.items():
            if s == size and name[:3] in ("(c)", "(d)"):
                ratios = "  ".join(f"{m} {by_mode[m] / winner[m]:.2f}x" for m in modes)
                print(f"  {name[:3]}/(b): {ratios}   (goal >= 1.5x per core)")
        if (size, "(a) per clip from mp4 (PyAV)") in results:
            a, c = results[size, "(a) per clip from mp4 (PyAV)"], results[size, "(c) curate frame cache"]
            print("  (c)/(a): " + "  ".join(f"{m} {c[m] / a[m]:.1f}x" for m in modes) + "   (goal >= 15x)")
    stores = [("(b) JPEG files", files_dir), ("(c) frame cache", cache_dir / "frames.lance")]
    stores += [(f"(d) cache at {d.frame_size} px", d.cache.root / "frames.lance") for d in small.values()]
    print()
    for name, path in stores:
        apparent, allocated, files = disk_usage(path)
        print(f"{name:<22} {apparent / 1e6:8.1f} MB apparent, {allocated / 1e6:8.1f} MB on disk, "
              f"{files:6d} files")
    decoder_table(ours, small, sizes)


if __name__ == "__main__":
    main()
