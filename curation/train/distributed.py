"""torchrun support: the same command runs single-process or as one rank of a DDP job."""
from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device) -> Dist:
    """Join the process group torchrun describes in the environment (gloo on CPU, nccl on GPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        atexit.register(_leave)
    return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def _leave() -> None:
    """Destroy the process group while the interpreter is whole: left to interpreter teardown, gloo's worker
    threads can abort the process (SIGABRT, "terminate called without an active exception"), failing a finished
    run."""
    if dist.is_initialized():
        dist.destroy_process_group()


def gather_rows(rows: list, d: Dist) -> list:
    """Every rank's rows, concatenated on rank 0 (others get [])."""
    if not d.enabled:
        return rows
    parts = [None] * d.world_size if d.is_main else None
    dist.gather_object(rows, parts, dst=0)
    return [r for part in parts for r in part] if d.is_main else []


def broadcast(value, d: Dist):
    """Rank 0's value on every rank."""
    if not d.enabled:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def shard(n: int, d: Dist) -> range:
    """This rank's contiguous share of n items (for eval passes)."""
    per = -(-n // d.world_size)
    return range(min(n, d.rank * per), min(n, (d.rank + 1) * per))
