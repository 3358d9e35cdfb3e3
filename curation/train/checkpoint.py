"""Checkpoints: everything a killed run needs to continue exactly (model, optimizer, scheduler, sampler,
RNG states, epoch), written whole and identified by sha256."""
from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import torch

from curation.fsutil import atomic_write_bytes, sha256_file


def save_checkpoint(path: Path, trainer, epoch: int, best: float) -> dict:
    state = {"model": trainer.model.state_dict(), "optimizer": trainer.optimizer.state_dict(),
             "scheduler": trainer.scheduler.state_dict(), "sampler": trainer.sampler.state_dict(),
             "epoch": epoch, "best": best, "config": trainer.cfg.to_dict(),
             "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}}
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())
    return {"file": path.name, "sha256": sha256_file(path), "epoch": epoch + 1}


def load_checkpoint(path: Path, trainer, device: torch.device, model_only: bool = False) -> dict | None:
    if not path.exists():
        return None
    state = torch.load(path, map_location=device, weights_only=False)
    trainer.model.load_state_dict(state["model"])
    if not model_only:
        trainer.optimizer.load_state_dict(state["optimizer"])
        trainer.scheduler.load_state_dict(state["scheduler"])
        trainer.sampler.load_state_dict(state["sampler"])
        torch.set_rng_state(state["rng"]["torch"])
        np.random.set_state(state["rng"]["numpy"])
        random.setstate(state["rng"]["python"])
    return state
