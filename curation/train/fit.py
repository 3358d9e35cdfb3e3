"""Will a training step fit in memory? An estimate from measured figures (bench/train_memory.py), checked before
the model is built: an oversized batch is refused with the batch that fits, instead of the kernel killing the
process without a word."""
from __future__ import annotations

import os
from pathlib import Path

from curation.errors import BadInput, Fix
from curation.models.mvit import ModelSpec

PROCESS_MB = 900  # Python, torch and the libraries, before any model (measured: 850 MB)
WORKER_MB = 400  # a loader worker process before its clips
PREFETCH = 2  # batches each loader worker holds ready (data.dataset.ClipLoader)


def available_mb(device) -> float | None:
    """Memory free for the run: the GPU's free memory, or the host's available memory within the cgroup's
    limit (None where neither can be read)."""
    if device.type == "cuda":
        import torch

        return torch.cuda.mem_get_info(device)[0] / 2**20
    free = []
    try:
        meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        free.append(int(meminfo["MemAvailable"].split()[0]) / 1024)
    except (OSError, KeyError, ValueError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text())
            free.append((int(limit) - used) / 2**20)
    except (OSError, ValueError):
        pass
    return min(free) if free else None


def step_mb(spec: ModelSpec, workers: int, on_gpu: bool) -> tuple[float, float]:
    """(fixed, per clip) megabytes of a training step where the model runs: weights, gradients and AdamW's two
    moments in float32, plus each clip's activations; on the host also the process and its loader workers."""
    fixed = spec.params * 16 / 2**20
    per_clip = spec.train_mb_per_clip
    if not on_gpu:
        clip = 3 * spec.frames * spec.input_size ** 2 * 4 / 2**20  # a float32 clip as the loader hands it over
        fixed += PROCESS_MB + workers * WORKER_MB
        per_clip += workers * PREFETCH * clip
    return fixed, per_clip


def check_fits(spec: ModelSpec, batch: int, workers: int, device) -> None:
    """Refuse a run whose training step would not fit, naming the batch size that does."""
    available = available_mb(device)
    if available is None:
        return
    ranks = int(os.environ.get("LOCAL_WORLD_SIZE", "1")) if device.type != "cuda" else 1  # ranks share the host
    fixed, per_clip = step_mb(spec, workers, device.type == "cuda")
    need = ranks * (fixed + batch * per_clip)
    if need <= available:
        return
    fits = int((available / ranks - fixed) // per_clip)
    where = "the GPU" if device.type == "cuda" else "this machine"
    problem = (f"{spec.name} at batch size {batch} needs about {need / 1024:.1f} GB to train; {where} has "
               f"{available / 1024:.1f} GB free")
    if fits >= 1:
        raise BadInput(problem, Fix(f"use a batch size of {fits} or less", "option",
                                    {"option": "batch-size", "value": fits}))
    raise BadInput(problem, Fix("train the tiny model (mvit_tiny), or on a machine with more memory", "option",
                                {"option": "model", "value": "mvit_tiny"}))
