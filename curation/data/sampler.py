"""Weighted sampling with 3LC's semantics, sharded across ranks from one global draw.

Each epoch draws `num_samples` row positions with replacement, with probability proportional to weight;
weight-0 rows are never drawn (deleted rows are not in the dataset at all). The draw depends only on
(seed, epoch), so it is reproducible, and under torch.distributed rank r takes positions r, r+W, r+2W, …
of the same global draw: N ranks together see exactly what one process would.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Sampler

from curation.errors import BadInput


class WeightedClipSampler(Sampler[int]):
    def __init__(self, weights, num_samples: int | None = None, seed: int = 0, rank: int | None = None,
                 world_size: int | None = None):
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1 or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise BadInput("sample weights must be finite and >= 0", "fix the weight column")
        if not np.any(w > 0):
            raise BadInput("every sample has weight 0: nothing to train on", "set some weights above 0")
        if rank is None or world_size is None:
            dist = torch.distributed
            ready = dist.is_available() and dist.is_initialized()
            rank = dist.get_rank() if ready else 0
            world_size = dist.get_world_size() if ready else 1
        self.probabilities = w / w.sum()
        self.num_samples = int(num_samples or np.count_nonzero(w))  # 3LC: an epoch = the non-zero rows
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.epoch = 0
        # Every rank takes the same number of draws (DDP steps in lockstep): round the global draw up.
        self.per_rank = -(-self.num_samples // world_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def global_draw(self) -> np.ndarray:
        rng = np.random.default_rng([self.seed, self.epoch])
        total = self.per_rank * self.world_size
        return rng.choice(len(self.probabilities), size=total, replace=True, p=self.probabilities)

    def __iter__(self):
        return iter(self.global_draw()[self.rank::self.world_size].tolist())

    def __len__(self) -> int:
        return self.per_rank

    def state_dict(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch, "num_samples": self.num_samples}

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.epoch = state["seed"], state["epoch"]
