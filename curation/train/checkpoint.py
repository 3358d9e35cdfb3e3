"""The training state and its checkpoints: everything a killed run needs to continue exactly (model, optimizer,
scheduler, sampler, RNG states, epochs done, best metric), written whole and identified by sha256."""
from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from curation.fsutil import atomic_write_bytes, sha256_file


@dataclass
class TrainState:
    """What training changes; a checkpoint saves and restores exactly this (and the RNG states)."""
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    sampler: object  # WeightedClipSampler: its state_dict carries the epoch's draw
    epochs_done: int = 0
    best: float = -math.inf  # the best validation metric so far


def save_checkpoint(path: Path, state: TrainState, config: dict) -> dict:
    """Write `state` after its last epoch; returns what the run records of the file."""
    saved = {"model": state.model.state_dict(), "optimizer": state.optimizer.state_dict(),
             "scheduler": state.scheduler.state_dict(), "sampler": state.sampler.state_dict(),
             "epoch": state.epochs_done - 1, "best": state.best, "config": config,
             "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}}
    buf = io.BytesIO()
    torch.save(saved, buf)
    atomic_write_bytes(path, buf.getvalue())
    return {"file": path.name, "sha256": sha256_file(path), "epoch": state.epochs_done}


def load_checkpoint(path: Path, state: TrainState, device: torch.device) -> bool:
    """Restore `state` (and the RNG states) from `path`; False when there is no checkpoint yet."""
    if not path.exists():
        return False
    saved = torch.load(path, map_location=device, weights_only=False)
    state.model.load_state_dict(saved["model"])
    state.optimizer.load_state_dict(saved["optimizer"])
    state.scheduler.load_state_dict(saved["scheduler"])
    state.sampler.load_state_dict(saved["sampler"])
    state.epochs_done, state.best = saved["epoch"] + 1, saved["best"]
    torch.set_rng_state(saved["rng"]["torch"])
    np.random.set_state(saved["rng"]["numpy"])
    random.setstate(saved["rng"]["python"])
    return True


def load_weights(path: Path, model: torch.nn.Module, device: torch.device) -> None:
    """Only the model's weights from a checkpoint (for eval passes)."""
    model.load_state_dict(torch.load(path, map_location=device, weights_only=False)["model"])
