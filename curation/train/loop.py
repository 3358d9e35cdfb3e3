"""`curate train`: train on one resolved clips revision, log per-sample dynamics from the training forward
pass, validate as the task scores, checkpoint every epoch, and finish with a collection pass.

The same function runs single-process or as one rank under torchrun (DDP): the sampler shards one global
draw, eval passes shard the rows, and rank 0 gathers and writes everything. The pieces, as torchvision's
reference scripts have them: `prepare` (setup.py) checks the inputs and builds model and datasets,
`train_one_epoch` changes a `TrainState`, `validate` scores a `Predictor`'s outputs with the task.
"""
from __future__ import annotations

import math
import platform
import time
from contextlib import nullcontext
from dataclasses import dataclass
from importlib import metadata
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch.nn.parallel import DistributedDataParallel

from curation.data.dataset import ClipDataset, ClipLoader
from curation.data.sampler import WeightedClipSampler
from curation.errors import BadInput, Fix, RunFailed
from curation.faults import fault_point
from curation.frames.cache import oversized_cache_note
from curation.ingest.splits import MAX_FOLDS
from curation.progress import progress_bar
from curation.runs.plots import plot_curves
from curation.runs.learning import constant_loss, learning_check
from curation.runs.record import RunInputs, RunRecord
from curation.train.checkpoint import TrainState, load_checkpoint, save_checkpoint
from curation.train.collect import collect_run
from curation.train.config import TrainConfig, resolve_train_table
from curation.train.distributed import Dist, broadcast, gather_rows, init_distributed
from curation.train.outputs import sample_outputs
from curation.train.predict import OUTPUTS, Predictor, predictor_for, resolve_device
from curation.train.setup import RunSetup, prepare
from curation.task import Targets, Task
from curation.workspace import Workspace


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for pkg in ("curate", "torch", "torchvision", "pylance", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def new_state(setup: RunSetup, cfg: TrainConfig, loader: ClipLoader) -> TrainState:
    # the fused kernel updates every tensor in one pass: a tenth off a tiny model's CPU step (bench/train_step.py)
    fused = next(setup.model.parameters()).device.type in ("cpu", "cuda")
    optimizer = torch.optim.AdamW(setup.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_schedule(cfg.epochs * len(loader), cfg.warmup))
    return TrainState(setup.model, optimizer, scheduler, loader.sampler)


def lr_schedule(steps: int, warmup: float):
    """The learning rate's factor at each step: a linear rise over the first `warmup` share of the steps, then
    a cosine decay to 0 at the last step."""
    rise = round(warmup * steps)

    def factor(step: int) -> float:
        if step < rise:
            return (step + 1) / rise
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - rise) / max(1, steps - rise))))

    return factor


def draw_weights(dataset: ClipDataset, balance: bool) -> np.ndarray:
    """Each clip's chance of a draw: its weight, scaled with `balance` so that every class has the same total
    weight (a rare class is drawn as often as a common one)."""
    weights = dataset.weights.astype(np.float64)
    if not balance:
        return weights
    out = weights.copy()
    for label in np.unique(dataset.labels):
        members = dataset.labels == label
        total = weights[members].sum()
        if total > 0:
            out[members] = weights[members] / total
    return out


def train_loader(setup: RunSetup, cfg: TrainConfig, d: Dist, device: torch.device) -> ClipLoader:
    """Weighted draws of the training clips (this rank's share), augmented."""
    sampler = WeightedClipSampler(draw_weights(setup.train_ds, cfg.balance), cfg.draws_per_epoch or None,
                                  seed=cfg.seed, rank=d.rank, world_size=d.world_size)
    return ClipLoader(setup.train_ds, cfg.batch_size, sampler=sampler, workers=cfg.workers, device=device,
                      decode_on_device=cfg.decode_on_device)


def run_record(run: str, cfg: TrainConfig, setup: RunSetup, sampler, ws: Workspace, d: Dist,
               device: torch.device) -> RunRecord:
    rev, val = setup.revision, setup.val_revision
    inputs = RunInputs(dataset=rev.dataset, table=rev.table, revision=rev.number, ref=rev.ref,
                       fingerprint=rev.fingerprint, rows=rev.rows, val={"ref": val.ref, "fingerprint": val.fingerprint},
                       videos=setup.pinned(), train_clips=len(setup.train_ds), val_clips=len(setup.val_ds))
    return RunRecord(
        run=run, config=cfg.to_dict(), inputs=inputs, backend=ws.backend,
        task="binary" if setup.binary else "multiclass", classes=setup.classes,
        model={**setup.mspec.to_dict(), "params": sum(p.numel() for p in setup.model.parameters()),
               "weights": setup.weights_loaded, "head": setup.model.head_kind},
        metric=setup.task.metric,
        transforms={"train": setup.train_ds.transform.to_dict(), "eval": setup.val_ds.transform.to_dict()},
        sampler={"num_samples": sampler.num_samples, "seed": cfg.seed},
        world_size=d.world_size, device=str(device), versions=_versions())


def train_one_epoch(net, state: TrainState, loader: ClipLoader, epoch: int, cfg: TrainConfig, binary: bool,
                    device: torch.device, d: Dist, progress: bool) -> tuple[pa.Table | None, list, float]:
    """One epoch of `state` through `net` (the model, or its DDP wrapper); returns (dynamics on rank 0, skipped
    clips, seconds spent on dynamics logging)."""
    sampler = state.sampler
    sampler.set_epoch(epoch)
    net.train()
    ids, steps, kept = [], [], {k: [] for k in ("label", "weight", *OUTPUTS)}
    skipped, logging_s = [], 0.0
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()
    bar = progress_bar(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", show=progress and d.is_main,
                       leave=False)
    allowed = cfg.max_skip_fraction * len(sampler)
    for step, batch in enumerate(bar):
        fault_point("train.step")
        skipped += batch["skipped"]
        if len(skipped) > allowed:
            raise TooManySkipped(epoch + 1, skipped, len(sampler), cfg.max_skip_fraction)
        if batch["video"].numel() == 0:
            continue
        labels = batch["label"].to(device)
        with amp:
            logits, _ = net(batch["video"])
        out = sample_outputs(logits.float(), labels, binary)
        loss = out["loss"].mean()
        state.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(state.model.parameters(), cfg.grad_clip)
        state.optimizer.step()
        state.scheduler.step()
        # Dynamics come from this forward pass: keep detached tensors on the device (no sync per step).
        t = time.perf_counter()
        ids += batch["clip_id"]
        steps += [step] * len(batch["clip_id"])
        kept["label"].append(batch["label"])
        kept["weight"].append(batch["weight"])
        for k in OUTPUTS:
            kept[k].append(out[k].detach())
        logging_s += time.perf_counter() - t
        if step % 10 == 0 or device.type == "cpu":  # synced anyway (a GPU every 10th step)
            value = loss.item()
            if not math.isfinite(value):  # a run that has diverged stops
                raise NonFiniteLoss(epoch + 1, step + 1, value)
            bar.set_postfix(loss=f"{value:.3f}")
    t = time.perf_counter()
    cols = {"clip_id": ids, "step": steps,
            **{k: torch.cat(v).cpu().numpy() if v else np.zeros(0) for k, v in kept.items()}}
    parts = gather_rows([(cols, skipped)], d)  # one collective per epoch, on every rank
    if not d.is_main:
        return None, [], logging_s + time.perf_counter() - t
    merged = {k: np.concatenate([np.asarray(part[k]) for part, _ in parts]) for k in cols}
    table = pa.table({"clip_id": pa.array(merged["clip_id"].tolist(), pa.string()),
                      "epoch": pa.array(np.full(len(merged["clip_id"]), epoch + 1), pa.int32()),
                      "step": pa.array(merged["step"], pa.int32()),
                      "label": pa.array(merged["label"], pa.int32()),
                      "weight": pa.array(merged["weight"], pa.float32()),
                      **{k: pa.array(merged[k], pa.float32()) for k in OUTPUTS if k != "pred"},
                      "pred": pa.array(merged["pred"], pa.int32())})
    return table, [s for _, part in parts for s in part], logging_s + time.perf_counter() - t


def validate(predictor: Predictor, task: Task, dataset: ClipDataset, targets: Targets,
             loader: ClipLoader | None = None) -> dict:
    """The validation loss and the task's metrics on `dataset` against `targets`, one per row (rank 0; {} elsewhere
    and without clips)."""
    if len(dataset) == 0:
        return {}
    out = predictor.predict(dataset, "validating", loader)
    if out is None:
        return {}
    losses = np.asarray(out["loss"], dtype=float)
    return {"val_loss": float(np.nanmean(losses)) if len(losses) else None,
            "val": score_outputs(task, targets, out)}


def score_outputs(task: Task, targets: Targets, out: dict) -> dict:
    """The task's metrics of a predict pass `out` over a dataset whose rows `targets` follows."""
    return task.score(targets.take(np.asarray(out["index"], dtype=int)), np.asarray(out[task.score_column]))


class TooManySkipped(BadInput):
    """More of an epoch's draws than allowed could not be read: a broken cache or source, not a few bad clips."""

    def __init__(self, epoch: int, skipped: list, draws: int, fraction: float):
        self.skipped = skipped
        first = "; ".join(f"{clip} ({reason})" for clip, reason in skipped[:3])
        super().__init__(f"epoch {epoch}: more than {fraction:.0%} of {draws} drawn clips could not be read "
                         f"(the run lists them): {first}",
                         "repair the frame cache or the source videos (re-ingest), delete those clips, or allow "
                         "more skipped clips (max_skip_fraction)")


class NonFiniteLoss(RunFailed):
    """The training loss became NaN or infinite: the settings (a learning rate far too high) or unlabelled
    training samples, never something more steps would fix."""

    def __init__(self, epoch: int, step: int, value: float):
        super().__init__(f"epoch {epoch}, step {step}: the training loss is {value} — the run stopped",
                         "lower the learning rate (lr), and check that every training sample has a label")


def train(ws: Workspace, cfg: TrainConfig | None = None, resume: str | None = None, echo=print,
          progress: bool = True) -> str:
    """Train and return the run id. `resume` continues a run from its last checkpoint."""
    runs = ws.runs
    previous = None
    if resume:
        run = runs.resolve(resume)
        previous = runs.record(run)  # as the killed run left it
        if previous.status == "completed":
            raise BadInput(f"run {run} has already completed", Fix("start a new run", "new_run"))
        if previous.status == "running":  # its trainer is alive
            raise runs.taken(run)
        cfg = TrainConfig.from_dict(previous.config)
        revision = previous.trained_on(ws.tables)
    else:
        cfg = cfg or TrainConfig()
        revision = resolve_train_table(ws, cfg.table)
    device = resolve_device(cfg.device)
    d = init_distributed(device)
    if d.enabled and device.type == "cuda":
        device = torch.device("cuda", d.local_rank)
        torch.cuda.set_device(device)
    if not resume:
        run = broadcast(runs.create(cfg.name) if d.is_main else None, d)
    with runs.owned(run) if d.is_main else nullcontext():  # `curate runs` tells a killed run by it
        try:
            setup = prepare(ws, cfg, revision, device, notice=echo if d.is_main else (lambda _: None),
                            pinned=previous.inputs.videos if previous else None)
        except BaseException:
            if not resume and d.is_main:
                runs.discard(run)  # a run that never started leaves no folder behind
            raise
        loader = train_loader(setup, cfg, d, device)
        torch.manual_seed(cfg.seed + d.rank)  # augmentation draws differ per rank
        setup.model.to(device)
        net = DistributedDataParallel(setup.model) if d.enabled else setup.model
        state = new_state(setup, cfg, loader)
        predictor = predictor_for(setup.model, setup.mspec, setup.binary, cfg, device, d, progress)
        record = run_record(run, cfg, setup, loader.sampler, ws, d, device)
        record.created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        if resume and load_checkpoint(runs.read_file(run, "last.pt"), state, device):
            for kept in ("checkpoints", "skipped_clips", "created", "best", "collections", "inference_ms_per_clip"):
                setattr(record, kept, getattr(previous, kept))
            record.epochs = [e for e in previous.epochs if e["epoch"] <= state.epochs_done]
            if d.is_main:
                echo(f"{run}: resuming after epoch {state.epochs_done} of {cfg.epochs}")
        if d.is_main:
            runs.write_record(run, record)
            echo(f"{run}: training {cfg.model} on {revision.ref} ({len(setup.train_ds)} train clips, "
                 f"{loader.sampler.num_samples} draws/epoch, {len(setup.val_ds)} val clips) on {device}"
                 + (f" × {d.world_size} ranks" if d.enabled else ""))
            if note := oversized_cache_note(setup.train_ds.frame_size, setup.mspec.input_size):
                echo(f"note: {note}")
        try:
            _epochs(Training(ws, run, cfg, setup, state, net, loader, predictor, record, d, device, echo,
                             progress))
            if d.is_main:
                record.status = "completed"
                runs.write_record(run, record)
                echo(f"{run} {learning_check(record).reason}")
        except BaseException as exc:
            if d.is_main:
                record.status = "failed"
                if isinstance(exc, TooManySkipped):
                    record.skipped_clips = (record.skipped_clips + [list(s) for s in exc.skipped])[:200]
                runs.write_record(run, record)
            raise
    return run


@dataclass
class Training:
    """One run's training as its epochs see it: what it trains and with what, where, and what it records."""
    ws: Workspace
    run: str
    cfg: TrainConfig
    setup: RunSetup
    state: TrainState
    net: torch.nn.Module  # the model, or its DistributedDataParallel wrapper
    loader: ClipLoader
    predictor: Predictor
    record: RunRecord
    d: Dist
    device: torch.device
    echo: Callable[[str], None]
    progress: bool


def _epochs(t: Training) -> None:
    """The epochs left of `t.state`: train, validate, write dynamics, checkpoint, plot, collect."""
    ws, run, cfg, setup, state, record, d = t.ws, t.run, t.cfg, t.setup, t.state, t.record, t.d
    predictor, echo = t.predictor, t.echo
    runs = ws.runs
    start_epoch = state.epochs_done
    val_loader = predictor.loader(setup.val_ds) if len(setup.val_ds) else None  # its worker persists
    val_targets = setup.task.targets(ws.tables, setup.val_ds.rows, setup.videos)  # read once for every epoch
    chance = setup.task.chance(val_targets)
    for epoch in range(start_epoch, cfg.epochs):
        started = time.time()
        dynamics, skipped, logging_s = train_one_epoch(t.net, state, t.loader, epoch, cfg, setup.binary, t.device, d,
                                                       t.progress)
        trained_s = time.time() - started
        val = validate(predictor, setup.task, setup.val_ds, val_targets, val_loader)
        state.epochs_done = epoch + 1
        if d.is_main:
            written = time.perf_counter()
            runs.write_dynamics(run, epoch + 1, dynamics)  # before the checkpoint: a redo replaces it
            logging_s += time.perf_counter() - written
            metric = setup.task.metric
            value = val.get("val", {}).get(metric)
            improved = value is not None and not math.isnan(value) and value > state.best
            state.best = value if improved else state.best
            summary = {"epoch": epoch + 1, "train_loss": pc.mean(dynamics["loss"]).as_py(),
                       "draws": dynamics.num_rows, "seconds": round(time.time() - started, 2),
                       "train_seconds": round(trained_s, 3), "dynamics_logging_seconds": round(logging_s, 4),
                       "skipped": len(skipped), "val_chance": chance,
                       "constant_loss": constant_loss(dynamics["label"].to_numpy(), len(setup.classes)), **val}
            record.epochs.append(summary)
            record.skipped_clips = (record.skipped_clips + [list(s) for s in skipped])[:200]
            record.checkpoints["last"] = save_checkpoint(runs, run, "last.pt", state, cfg.to_dict())
            if improved or not val:
                record.checkpoints["best"] = save_checkpoint(runs, run, "best.pt", state, cfg.to_dict())
                record.best = {"epoch": epoch + 1, "metric": metric, "value": value}
            runs.write_record(run, record)
            runs.write_file(run, "plots/curves.png", plot_curves(record.epochs, metric))
            shown = f"{metric} {value:.4f}" if value is not None else "no validation"
            loss = "-" if summary["train_loss"] is None else f"{summary['train_loss']:.4f}"
            skipped_text = f", {len(skipped)} clips skipped" if skipped else ""
            echo(f"epoch {epoch + 1}/{cfg.epochs}: train loss {loss}, {shown} "
                 f"({summary['seconds']:.0f} s{skipped_text})")
        last = epoch + 1 == cfg.epochs
        if last or (cfg.collect_every and (epoch + 1) % cfg.collect_every == 0):
            collect_run(predictor, ws, runs, record, tag="" if last else f"epoch{epoch + 1}")
    if start_epoch >= cfg.epochs:  # resumed after every epoch had ended: the final collection was cut off
        collect_run(predictor, ws, runs, record)


def train_folds(ws: Workspace, cfg: TrainConfig, folds: int, echo=print, progress: bool = True) -> list[str]:
    """One run per fold of the fold column written by `curate ingest --folds K`: run k validates on fold k
    and trains on the others, so together they give out-of-fold predictions for every labelled clip."""
    if not 2 <= folds <= MAX_FOLDS:  # before range(folds) is made of a mistyped huge number
        raise BadInput(f"{folds} folds is outside 2 to {MAX_FOLDS}", "train as many runs as the table has folds")
    revision = resolve_train_table(ws, cfg.table)
    present = set(ws.tables.read(revision, ["fold"])["fold"].to_pylist()) - {-1}
    if present != set(range(folds)):
        raise BadInput(f"{revision.ref} has folds {sorted(present) or 'none'}, not 0..{folds - 1}",
                       Fix(f"re-ingest with {folds} folds", "reingest_folds", {"folds": folds}))
    runs = []
    for k in range(folds):
        fold_cfg = TrainConfig.from_dict({**cfg.to_dict(), "table": revision.ref, "fold": k,
                                          "name": f"{cfg.name or 'fold'}{k}"})
        runs.append(train(ws, fold_cfg, echo=echo, progress=progress))
    return runs


def train_repeats(ws: Workspace, cfg: TrainConfig, seeds: list[int], echo=print, progress: bool = True) -> list[str]:
    """One run per seed on one pinned revision (the table is resolved once: an edit made meanwhile does not
    split the group); the runs' records name the group (the first run's id) for `runs` and `compare`."""
    if len(set(seeds)) != len(seeds) or not seeds:
        raise BadInput(f"seeds {seeds} are not distinct", "give each repeat its own seed")
    revision = resolve_train_table(ws, cfg.table)
    runs: list[str] = []
    for seed in seeds:
        run = train(ws, TrainConfig.from_dict({**cfg.to_dict(), "table": revision.ref, "seed": seed}), echo=echo,
                    progress=progress)
        runs.append(run)
        if run and ws.runs.record(run).status == "completed":
            record = ws.runs.record(run)
            record.group = runs[0]
            ws.runs.write_record(run, record)
    return runs

