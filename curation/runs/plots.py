"""PNG plots of a run: loss/metric curves per epoch and the 2-D embedding map coloured by label and loss; each
function returns the PNG's bytes, for the run store to keep wherever it keeps the run."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


def plot_curves(epochs: list[dict], metric: str) -> bytes:
    xs = [e["epoch"] for e in epochs]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    a.plot(xs, [e["train_loss"] for e in epochs], marker="o", label="train (drawn samples)")
    if any(e.get("val_loss") is not None for e in epochs):
        a.plot(xs, [e.get("val_loss") for e in epochs], marker="o", label="val")
    a.set(xlabel="epoch", ylabel="loss", title="loss")
    a.legend()
    b.plot(xs, [e.get("val", {}).get(metric) for e in epochs], marker="o", color="tab:green")
    b.set(xlabel="epoch", ylabel=metric, title=f"validation {metric}")
    for ax in (a, b):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return _png(fig)


def plot_map(xy: np.ndarray, colour: np.ndarray, title: str, categorical: bool) -> bytes:
    fig, ax = plt.subplots(figsize=(6, 5.4))
    if categorical:
        for value in sorted(set(colour.tolist())):
            keep = colour == value
            ax.scatter(xy[keep, 0], xy[keep, 1], s=6, alpha=0.7, label=str(value))
        ax.legend(markerscale=3, title="label")
    else:
        points = ax.scatter(xy[:, 0], xy[:, 1], s=6, c=colour, cmap="viridis", alpha=0.8)
        fig.colorbar(points, ax=ax, label=title.split(" by ")[-1])
    ax.set(title=title, xticks=[], yticks=[])
    return _png(fig)


def plot_trials(trials: list[dict], metric: str) -> bytes:
    """A sweep: each finished trial's metric by trial number with the best so far, and by learning rate."""
    done = [t for t in trials if t["value"] is not None]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    xs, ys = [t["trial"] for t in done], [t["value"] for t in done]
    a.plot(xs, ys, "o", label="trial")
    a.step(xs, np.maximum.accumulate(ys) if ys else [], where="post", color="tab:green", label="best so far")
    a.set(xlabel="trial", ylabel=f"val {metric}", title="trials")
    a.xaxis.set_major_locator(MaxNLocator(integer=True))
    a.legend()
    numeric = [k for k in ("lr", "clip_seconds", "warmup", "horizon_s", "alpha", "beta")
               if done and all(isinstance(t["params"].get(k), float) for t in done)]
    if numeric:  # the main setting on x (learning rate, else clip length), the next as colour
        x, colour = numeric[0], numeric[1] if len(numeric) > 1 else numeric[0]
        b.scatter([t["params"][x] for t in done], ys, c=[t["params"][colour] for t in done], cmap="viridis")
        b.set(xscale="log" if x == "lr" else "linear", xlabel=f"{x} (colour: {colour})", ylabel=f"val {metric}",
              title=f"by {x}")
    return _png(fig)


def _png(fig) -> bytes:
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100)
    plt.close(fig)
    return out.getvalue()
