"""Will a training step fit in memory? An estimate from the built model's parameter count and measured activation
figures (bench/train_memory.py), checked before any step: an oversized batch is refused with the batch that fits,
instead of the kernel killing the process without a word."""
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


# What the estimate assumes, said with a refusal: training keeps float32 weights, gradients and AdamW moments on
# either device, and the activations per clip were measured in float32 on the CPU. On a GPU the step runs under
# bfloat16 autocast, whose activations take less: there the estimate is an upper bound (not yet measured on a GPU).
PRECISION = {False: "float32, as trained on the CPU",
             True: "float32 activations, an upper bound for the GPU's bfloat16 autocast"}


def step_mb(spec: ModelSpec, params: int, workers: int, on_gpu: bool) -> tuple[float, float]:
    """(fixed, per clip) megabytes of a training step where the model runs: `params` (the built model's count)
    weights, gradients and AdamW's two moments in float32, plus each clip's activations; on the host also the
    process and its loader workers."""
    fixed = params * 16 / 2**20
    per_clip = spec.train_mb_per_clip
    if not on_gpu:
        clip = 3 * spec.frames * spec.input_size ** 2 * 4 / 2**20  # a float32 clip as the loader hands it over
        fixed += PROCESS_MB + workers * WORKER_MB
        per_clip += workers * PREFETCH * clip
    return fixed, per_clip


def check_fits(spec: ModelSpec, model, batch: int, workers: int, device) -> None:
    """Refuse a run whose training step would not fit, naming the batch size that does (`model`: the built one,
    whose parameters count)."""
    available = available_mb(device)
    if available is None:
        return
    on_gpu = device.type == "cuda"
    ranks = int(os.environ.get("LOCAL_WORLD_SIZE", "1")) if not on_gpu else 1  # ranks share the host
    params = sum(p.numel() for p in model.parameters())
    fixed, per_clip = step_mb(spec, params, workers, on_gpu)
    need = ranks * (fixed + batch * per_clip)
    if need <= available:
        return
    fits = int((available / ranks - fixed) // per_clip)
    where = "the GPU" if on_gpu else "this machine"
    problem = (f"{spec.name} at batch size {batch} needs about {need / 1024:.1f} GB to train ({PRECISION[on_gpu]}); "
               f"{where} has {available / 1024:.1f} GB free")
    if fits >= 1:
        raise BadInput(problem, Fix(f"use a batch size of {fits} or less", "option",
                                    {"option": "batch-size", "value": fits}))
    raise BadInput(problem, Fix("train the tiny model (mvit_tiny), or on a machine with more memory", "option",
                                {"option": "model", "value": "mvit_tiny"}))
