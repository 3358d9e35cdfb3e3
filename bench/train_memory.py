"""Memory of a training step per clip, the figure `curate train` checks a batch against before it starts
(ModelSpec.train_mb_per_clip, curation/train/fit.py).

    uv run python bench/train_memory.py [--model mvit_v2_s] [--batches 1,2]

Each batch size runs in a fresh process (two AdamW steps on random clips, on the CPU); a process's peak resident
memory at batch b+1 minus that at batch b is what one more clip costs. Printed against the figure in ModelSpec,
as a ratio: above 1, the check lets through batches that do not fit.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys


def peak_mb(model: str, batch: int) -> float:
    """In this process: build `model`, take two training steps at `batch`, return the peak resident MB."""
    import torch

    from curation.models.mvit import build_model

    net, spec, _ = build_model(model, 1, "none", notice=lambda _: None)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4)
    clips = torch.randn(batch, 3, spec.frames, spec.input_size, spec.input_size)
    for _ in range(2):
        logits, _ = net(clips)
        logits.float().mean().backward()
        optimizer.step()
        optimizer.zero_grad()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mvit_v2_s")
    ap.add_argument("--batches", default="1,2")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(peak_mb(args.model, args.child)))
        return
    from curation.models.mvit import MODELS

    batches = [int(b) for b in args.batches.split(",")]
    peaks = [json.loads(subprocess.run([sys.executable, __file__, "--model", args.model, "--child", str(b)],
                                       capture_output=True, text=True, check=True).stdout) for b in batches]
    for b, peak in zip(batches, peaks):
        print(f"{args.model} batch {b}: peak {peak:,.0f} MB")
    per_clip = (peaks[-1] - peaks[0]) / (batches[-1] - batches[0])
    expected = MODELS[args.model].train_mb_per_clip
    print(f"per clip: {per_clip:,.0f} MB measured, {expected:,} MB in ModelSpec, ratio {per_clip / expected:.2f}")


if __name__ == "__main__":
    main()
