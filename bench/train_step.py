"""A CPU training step of the tiny model as curate takes it, against the standard layout and optimizer, in the same
process: the attention pooling's input in channels-last (`build_model(channels_last_pooling=...)`,
curation/models/mvit.py) and the fused AdamW (`train.loop.new_state`).

    uv run python bench/train_step.py [--model mvit_tiny] [--batch 8] [--steps 10] [--rounds 3]

Each round times `--steps` AdamW steps on random clips and one eval pass of four batches per variant, the variants
interleaved; the medians over rounds are printed with each one's ratio to the standard (above 1: faster). The
models start from the same seed; their eval logits are compared to show the layout does not change the values.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from curation.models.mvit import build_model

VARIANTS = {"standard": (False, False), "channels-last pooling": (True, False),  # (channels-last, fused AdamW)
            "+ fused AdamW (curate's)": (True, True)}


def timed(model, optimizer, clips: torch.Tensor, labels: torch.Tensor, steps: int) -> tuple[float, float]:
    """(ms per clip of a training step, ms per clip of an eval forward pass)."""
    model.train()
    for step in range(steps + 1):  # the first step warms the allocator and oneDNN's kernel choice
        if step == 1:
            start = time.perf_counter()
        logits, _ = model(clips)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    train_ms = (time.perf_counter() - start) * 1000 / steps / len(clips)
    model.eval()
    batches = clips.repeat(2, 1, 1, 1, 1)  # eval passes run at twice the training batch
    with torch.inference_mode():
        model(batches)
        start = time.perf_counter()
        for _ in range(4):
            model(batches)
    return train_ms, (time.perf_counter() - start) * 1000 / 4 / len(batches)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mvit_tiny")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    models = {}
    for name, (channels_last, fused) in VARIANTS.items():
        torch.manual_seed(0)
        model, spec, _ = build_model(args.model, 10, "none", notice=lambda _: None, head="linear",
                                     channels_last_pooling=channels_last)
        models[name] = model, torch.optim.AdamW(model.parameters(), lr=1e-4, fused=fused)
    torch.manual_seed(1)
    clips = torch.randn(args.batch, 3, spec.frames, spec.input_size, spec.input_size)
    labels = torch.randint(0, 10, (args.batch,))
    with torch.inference_mode():
        logits = [model.eval()(clips)[0] for model, _ in models.values()]
    times = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, (model, optimizer) in models.items():
            times[name].append(timed(model, optimizer, clips, labels, args.steps))
    print(f"{args.model}, batch {args.batch}, {torch.get_num_threads()} threads; median of {args.rounds} rounds, "
          f"ms per clip; eval logits identical across layouts: {all(torch.equal(logits[0], x) for x in logits)}")
    print(f"{'variant':<26} {'train step':>10} {'eval pass':>10} {'train ×':>8} {'eval ×':>7}")
    med = {name: [statistics.median(t[k] for t in times[name]) for k in (0, 1)] for name in times}
    base = med["standard"]
    for name, (train_ms, eval_ms) in med.items():
        print(f"{name:<26} {train_ms:10.2f} {eval_ms:10.2f} {base[0] / train_ms:7.2f}x {base[1] / eval_ms:6.2f}x")


if __name__ == "__main__":
    main()
