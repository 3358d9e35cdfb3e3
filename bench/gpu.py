"""Does the data pipeline keep the accelerator busy? MViTv2-S training steps on clips already on the device
(model only) against the same steps fed by the real loader from the frame cache — the CPU path (decode and
augment in workers, uint8 to the device) and the device path (workers read JPEG bytes; decode with nvJPEG and
augment on the device) — and how many CPU cores the pipeline needs per device.

    uv run python bench/gpu.py [--device cuda] [--model mvit_v2_s] [--batch 16] [--workers 8] [--steps 40]

On a machine without a GPU it runs with --device cpu (and the tiny model) to check itself; the figures that
matter are the GPU ones.
"""
from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

WORKDIR = Path("/tmp/curate-bench-gpu")


def dataset(frame_size: int, size: int, videos: int):
    """A synthetic Nexar-layout dataset ingested at `frame_size` (reused), as a train ClipDataset at `size`."""
    from curation.data.dataset import ClipDataset
    from curation.data.transforms import get_preset
    from curation.ingest.pipeline import IngestOptions, ingest
    from curation.ingest.layouts import read_nexar
    from curation.synth import generate
    from curation.workspace import Workspace

    data = WORKDIR / "data"
    if not (data / "train.csv").exists():
        generate(data, n_train=videos, n_test=0, width=640, height=360, duration_s=10.0, seed=0, progress=False)
    ws = Workspace.open(WORKDIR / f"ws-{frame_size}", backend="lance")
    ingest(ws, read_nexar(data), "bench", IngestOptions(frame_size=frame_size), progress=False)
    return ClipDataset.from_revision(ws, ws.resolve("bench/clips"), get_preset("winner", size=size))


def rate(steps, step, batch: int, warmup: int, sync) -> float:
    """Clips per second over `steps` after `warmup` untimed ones."""
    it = iter(steps)
    for _ in range(warmup):
        step(next(it))
    sync()
    start, n = time.perf_counter(), 0
    for item in it:
        step(item)
        n += 1
    sync()
    return n * batch / (time.perf_counter() - start)


def main():
    import torch

    from curation.data.dataset import ClipLoader
    from curation.data.sampler import WeightedClipSampler
    from curation.models.mvit import MODELS, build_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--model", default="mvit_v2_s" if torch.cuda.is_available() else "mvit_tiny")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--steps", type=int, default=40, help="timed steps per configuration")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--videos", type=int, default=24, help="synthetic videos in the dataset")
    args = ap.parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    spec = MODELS[args.model]
    size, frames = spec.input_size, spec.frames
    model = build_model(args.model, 1, "none", notice=lambda *a: None)[0].to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    amp = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if cuda else contextlib.nullcontext

    def train_step(video: torch.Tensor) -> None:
        with amp():
            logits, _ = model(video)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float().squeeze(1),
                                                                    torch.zeros(len(video), device=device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    total = args.warmup + args.steps
    fixed = torch.randn(args.batch, 3, frames, size, size, device=device)
    model_only = rate([fixed] * total, train_step, args.batch, args.warmup, sync)
    print(f"{args.model} on {args.device}, batch {args.batch}, {frames}x{size}x{size}"
          f"{', bf16 autocast' if cuda else ''}: model only {model_only:.1f} clips/s")

    ds = dataset(256, size, args.videos)
    sampler = WeightedClipSampler(ds.weights, num_samples=total * args.batch, seed=0)
    print(f"pipeline: {len(ds)} clips of {args.videos} videos from the frame cache (256x256 JPEG), "
          f"{args.workers} workers")
    results = {}
    for name, on_device in (("CPU decode + augment in workers", False), ("decode + augment on the device", True)):
        loader = ClipLoader(ds, args.batch, sampler=sampler, workers=args.workers, device=device,
                            decode_on_device=on_device)
        loading = rate(loader, lambda b: None, args.batch, args.warmup, sync)
        fed = rate(loader, lambda b: train_step(b["video"]), args.batch, args.warmup, sync)
        per_core = loading / args.workers
        results[name] = (loading, fed)
        print(f"{name:<32} loader alone {loading:7.1f} clips/s ({per_core:.1f} per worker); with the model "
              f"{fed:7.1f} clips/s = {fed / model_only:.0%} of model only (goal >= 95%); cores to feed the "
              f"model: {model_only / per_core:.1f}")


if __name__ == "__main__":
    main()
