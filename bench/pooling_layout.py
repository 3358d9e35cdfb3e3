"""A CPU training step with the attention pooling's input in channels-last layout against the standard layout
(`build_model(channels_last_pooling=...)`, curation/models/mvit.py), in the same process.

    uv run python bench/pooling_layout.py [--model mvit_tiny] [--batch 8] [--steps 10] [--rounds 3]

Each round times `--steps` AdamW steps on random clips and one eval pass of four batches per layout, the two
layouts interleaved; the medians over rounds are printed with the ratio standard / channels-last (above 1: the
change is faster). Both models start from the same seed; logits are compared to show the values do not change.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from curation.models.mvit import build_model


def timed(model, clips: torch.Tensor, labels: torch.Tensor, steps: int) -> tuple[float, float]:
    """(ms per clip of a training step, ms per clip of an eval forward pass)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
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
    for fast in (False, True):
        torch.manual_seed(0)
        models[fast], spec, _ = build_model(args.model, 10, "none", notice=lambda _: None, head="linear",
                                            channels_last_pooling=fast)
    torch.manual_seed(1)
    clips = torch.randn(args.batch, 3, spec.frames, spec.input_size, spec.input_size)
    labels = torch.randint(0, 10, (args.batch,))
    with torch.inference_mode():
        same = torch.equal(models[False].eval()(clips)[0], models[True].eval()(clips)[0])
    times = {fast: [] for fast in models}
    for _ in range(args.rounds):
        for fast, model in models.items():
            times[fast].append(timed(model, clips, labels, args.steps))
    print(f"{args.model}, batch {args.batch}, {torch.get_num_threads()} threads; median of {args.rounds} rounds, "
          f"ms per clip; eval logits identical: {same}")
    print(f"{'layout':<16} {'train step':>10} {'eval pass':>10}")
    med = {fast: [statistics.median(t[k] for t in times[fast]) for k in (0, 1)] for fast in times}
    for fast, name in ((False, "standard"), (True, "channels-last")):
        print(f"{name:<16} {med[fast][0]:10.2f} {med[fast][1]:10.2f}")
    print(f"{'standard / cl':<16} {med[False][0] / med[True][0]:9.2f}x {med[False][1] / med[True][1]:9.2f}x")


if __name__ == "__main__":
    main()
