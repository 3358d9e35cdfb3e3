"""Eval-mode passes: a model on a device turns clips into per-clip outputs (loss, probability, margin,
prediction, embedding). Validation, collection, evaluate, submit and compare all predict through a
`Predictor`; none of them needs an optimizer, so `load_predictor` builds a finished run's model alone."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from curation.data.dataset import ClipDataset, ClipLoader
from curation.data.transforms import ClipTransform, get_preset
from curation.errors import BadInput, Fix
from curation.models.mvit import build_model
from curation.progress import progress_bar
from curation.runs.record import RunRecord
from curation.train.checkpoint import load_weights
from curation.train.config import TrainConfig
from curation.train.distributed import Dist, gather_rows, shard
from curation.train.outputs import sample_outputs

# eval passes keep no activations for a backward pass, so twice the training batch fits wherever training does;
# on a CPU a bigger batch costs about a quarter less per clip (bench/README.md, the actions demo's time)
EVAL_BATCH_FACTOR = 2
OUTPUTS = ("loss", "logit", "prob", "prob_label", "margin", "pred")  # per clip, from train.outputs


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise BadInput("device cuda was asked for but no CUDA device is available",
                       Fix("use the cpu (or auto) device", "option", {"option": "device", "value": "cpu"}))
    return torch.device(name)


@dataclass
class Predictor:
    model: torch.nn.Module
    device: torch.device
    binary: bool  # one logit (sigmoid) or one per class (softmax)
    eval_tf: ClipTransform
    feature_dim: int
    batch_size: int
    workers: int = 0
    decode_on_device: bool = False
    d: Dist = field(default_factory=Dist)
    progress: bool = True

    def dataset(self, ws, revision, where=None) -> ClipDataset:
        """The clips of `revision` (those matching `where`) as the model sees them in eval mode."""
        return ClipDataset.from_revision(ws, revision, self.eval_tf, where=where)

    def loader(self, dataset: ClipDataset, rows: list[int] | None = None, batch_size: int | None = None) -> ClipLoader:
        """This rank's contiguous share of `dataset` (or of the given rows), in order."""
        rows = list(range(len(dataset))) if rows is None else rows
        return ClipLoader(dataset, batch_size or self.batch_size, sampler=[rows[i] for i in shard(len(rows), self.d)],
                          workers=min(self.workers, 1), device=self.device, decode_on_device=self.decode_on_device)

    @torch.inference_mode()
    def predict(self, dataset: ClipDataset, desc: str, loader: ClipLoader | None = None,
                flip_tta: bool = False) -> dict | None:
        """Eval-mode outputs for every row of `dataset`, gathered on rank 0 (None elsewhere): the row `index`,
        the OUTPUTS, `probs` (every class's probability), the `embedding` (float16), the `skipped` clips and
        `ms_per_clip` of the forward passes.
        `flip_tta` averages the logits of each clip and its horizontal mirror."""
        self.model.eval()
        loader = loader or self.loader(dataset)
        cols = {k: [] for k in ("index", *OUTPUTS, "probs", "embedding")}
        skipped, forward_s, n = [], 0.0, 0
        for batch in progress_bar(loader, desc=desc, unit="batch", show=self.progress and self.d.is_main,
                                  leave=False):
            skipped += batch["skipped"]
            if batch["video"].numel() == 0:
                continue
            start = time.perf_counter()
            logits, features = self.model(batch["video"])
            if flip_tta:
                logits = (logits + self.model(batch["video"].flip(-1))[0]) / 2
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            forward_s += time.perf_counter() - start
            n += len(batch["clip_id"])
            out = sample_outputs(logits.float(), batch["label"].to(self.device), self.binary)
            cols["index"] += batch["index"].tolist()
            for k in OUTPUTS:
                cols[k] += out[k].cpu().tolist()
            cols["probs"] += list(out["probs"].cpu().numpy().astype(np.float32))
            cols["embedding"] += list(features.float().cpu().numpy().astype(np.float16))
        parts = gather_rows([(cols, skipped, forward_s, n)], self.d)
        if not self.d.is_main:
            return None
        merged = {k: [v for c, *_ in parts for v in c[k]] for k in cols}
        merged["skipped"] = [s for _, sk, *_ in parts for s in sk]
        total_n = sum(p[3] for p in parts)
        merged["ms_per_clip"] = 1000 * sum(p[2] for p in parts) / max(1, total_n)
        return merged


def predictor_for(model, mspec, binary: bool, cfg: TrainConfig, device: torch.device, d: Dist = Dist(),
                  progress: bool = True) -> Predictor:
    return Predictor(model, device, binary, get_preset("eval", size=mspec.input_size), mspec.feature_dim,
                     EVAL_BATCH_FACTOR * cfg.batch_size, cfg.workers, cfg.decode_on_device, d, progress)


def start_predictor(record: RunRecord, progress: bool = True) -> Predictor | None:
    """The model a run started from (its starting backbone weights, a new head), for eval passes over what the
    start saw before any training on the run's labels; None where the start cannot be rebuilt as it was (random
    initialisation, or weights that no longer load as recorded)."""
    recorded = (record.model or {}).get("weights") or {}
    if recorded.get("loaded", "none") == "none":  # random weights, or predictions imported from elsewhere
        return None
    binary = record.task == "binary"
    try:
        cfg = TrainConfig.from_dict(record.config)
        model, mspec, loaded = build_model(cfg.model, 1 if binary else len(record.classes), cfg.weights,
                                           notice=lambda _: None, head=record.model.get("head", "mlp"))
    except BadInput:  # a weights file moved or changed since the run
        return None
    if loaded.get("sha256") != recorded.get("sha256") or loaded.get("loaded") != recorded.get("loaded"):
        return None
    where = resolve_device(cfg.device)
    return predictor_for(model.to(where), mspec, binary, cfg, where, progress=progress)


def load_predictor(ws, run_ref: str, checkpoint: str = "best", progress: bool = True,
                   device: str | None = None) -> tuple[Predictor, RunRecord, Path]:
    """A finished run's model with a checkpoint's weights, ready for eval passes: (predictor, record, file).
    Nothing of training is built: no optimizer, no training clips."""
    runs = ws.runs
    run = runs.resolve(run_ref)
    record = runs.record(run)
    if checkpoint not in ("best", "last"):
        raise BadInput(f"unknown checkpoint {checkpoint!r}", "use best or last")
    data = runs.read_file(run, f"{checkpoint}.pt")
    if data is None:
        raise BadInput(f"run {run} has no {checkpoint}.pt", "train it to the end of an epoch first")
    cfg = TrainConfig.from_dict({**record.config, "weights": "none"})  # the checkpoint supplies the weights
    binary = record.task == "binary"
    model, mspec, _ = build_model(cfg.model, 1 if binary else len(record.classes), "none",
                                  head=record.model.get("head", "mlp"))  # runs before heads were chosen had the MLP
    where = resolve_device(device or cfg.device)
    model.to(where)
    load_weights(data, model, where)
    return predictor_for(model, mspec, binary, cfg, where, progress=progress), record, f"{checkpoint}.pt"
