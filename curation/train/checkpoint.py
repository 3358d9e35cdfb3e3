"""The training state and its checkpoints: everything a killed run needs to continue exactly (model, optimizer,
scheduler, sampler, RNG states, epochs done, best metric), written whole and identified by sha256."""
from __future__ import annotations

import hashlib
import io
import math
import random
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class TrainState:
    """What training changes; a checkpoint saves and restores exactly this (and the RNG states)."""
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    sampler: object  # WeightedClipSampler: its state_dict carries the epoch's draw
    epochs_done: int = 0
    best: float = -math.inf  # the best validation metric so far


def save_checkpoint(runs, run: str, name: str, state: TrainState, config: dict) -> dict:
    """Write `state` after its last epoch as the run's file `name` (whole, through the run store); returns what
    the run records of it."""
    saved = {"model": state.model.state_dict(), "optimizer": state.optimizer.state_dict(),
             "scheduler": state.scheduler.state_dict(), "sampler": state.sampler.state_dict(),
             "epoch": state.epochs_done - 1, "best": state.best, "config": config,
             "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}}
    buf = io.BytesIO()
    torch.save(saved, buf)
    runs.write_file(run, name, buf.getvalue())
    return {"file": name, "sha256": hashlib.sha256(buf.getvalue()).hexdigest(), "epoch": state.epochs_done}


def load_checkpoint(data: bytes | None, state: TrainState, device: torch.device) -> bool:
    """Restore `state` (and the RNG states) from a checkpoint's bytes; False when there is none yet."""
    if data is None:
        return False
    saved = torch.load(io.BytesIO(data), map_location=device, weights_only=False)
    state.model.load_state_dict(saved["model"])
    state.optimizer.load_state_dict(saved["optimizer"])
    state.scheduler.load_state_dict(saved["scheduler"])
    state.sampler.load_state_dict(saved["sampler"])
    state.epochs_done, state.best = saved["epoch"] + 1, saved["best"]
    torch.set_rng_state(saved["rng"]["torch"])
    np.random.set_state(saved["rng"]["numpy"])
    random.setstate(saved["rng"]["python"])
    return True


def load_weights(data: bytes, model: torch.nn.Module, device: torch.device) -> None:
    """Only the model's weights from a checkpoint's bytes (for eval passes)."""
    model.load_state_dict(torch.load(io.BytesIO(data), map_location=device, weights_only=False)["model"])
