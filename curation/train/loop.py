"""`curate train`: train on one resolved clips revision, log per-sample dynamics from the training forward
pass, validate as the competition scores, checkpoint every epoch, and finish with a collection pass.

The same function runs single-process or as one rank under torchrun (DDP): the sampler shards one global
draw, eval passes shard the rows, and rank 0 gathers and writes everything.
"""
from __future__ import annotations

import math
from contextlib import nullcontext
import platform
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch.nn.parallel import DistributedDataParallel
from curation.progress import progress_bar

from curation.data.dataset import ClipDataset, ClipLoader
from curation.data.sampler import WeightedClipSampler
from curation.data.transforms import get_preset
from curation.errors import BadInput, Fix
from curation.faults import fault_point
from curation.ingest.frame_cache import oversized_cache_note
from curation.models.mvit import MODELS, build_model
from curation.runs.plots import plot_curves
from curation.runs.record import RunInputs, RunRecord
from curation.runs.store import OWNER
from curation.task import VIDEOS
from curation.tables.content import WEIGHT_RULE, valid_weight
from curation.train.checkpoint import load_checkpoint, save_checkpoint
from curation.train.collect import collect_run, collect_tables
from curation.train.config import TrainConfig, resolve_train_table
from curation.train.fit import check_fits
from curation.train.distributed import Dist, broadcast, gather_rows, init_distributed, shard
from curation.train.metrics import classification_metrics, competition_map
from curation.train.outputs import sample_outputs
from curation.workspace import Workspace


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise BadInput("device cuda was asked for but no CUDA device is available",
                       Fix("use the cpu (or auto) device", "option", {"option": "device", "value": "cpu"}))
    return torch.device(name)


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for pkg in ("curate", "torch", "torchvision", "pylance", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def _split_filters(fold: int | None) -> tuple[pc.Expression, pc.Expression]:
    if fold is None:
        return pc.field("split") == "train", pc.field("split") == "val"
    labelled = pc.field("split").isin(["train", "val"]) & (pc.field("fold") >= 0)
    return labelled & (pc.field("fold") != fold), labelled & (pc.field("fold") == fold)


class Trainer:
    def __init__(self, ws: Workspace, cfg: TrainConfig, run: str, d: Dist, device: torch.device, echo, progress):
        self.ws, self.cfg, self.run, self.d, self.device, self.echo = ws, cfg, run, d, device, echo
        self.progress = progress and d.is_main
        self.runs = ws.runs

    # -- setup -------------------------------------------------------------------------------------------
    def setup(self, revision) -> None:
        cfg, ws = self.cfg, self.ws
        self.revision = revision
        self.spec = ws.tables.spec(revision.dataset, revision.table)
        classes = self.spec.classes or []
        if len(classes) < 2:
            raise BadInput(f"{self.spec.full_name} has no label classes", "train on a clips table with labels")
        self.binary = len(classes) == 2
        if cfg.model in MODELS:  # before the model is built; an unknown one is refused by build_model
            check_fits(MODELS[cfg.model], cfg.batch_size, cfg.workers, self.device)
        torch.manual_seed(cfg.seed)  # the same initial weights on every rank and every rerun
        self.model, self.mspec, self.weights_loaded = build_model(
            cfg.model, 1 if self.binary else len(classes), cfg.weights,
            notice=self.echo if self.d.is_main else (lambda _: None))
        train_where, val_where = _split_filters(cfg.fold)
        train_tf = get_preset(cfg.train_preset, size=self.mspec.input_size)
        self.eval_tf = get_preset("eval", size=self.mspec.input_size)
        self.train_ds = ClipDataset.from_revision(ws, revision, train_tf, where=train_where)
        if len(self.train_ds) == 0:
            raise BadInput(f"{revision.ref} has no training clips", "check the split/fold columns")
        bad = [i for i, w in enumerate(self.train_ds.weights.tolist()) if not valid_weight(w)]
        if bad:
            raise BadInput(f"{revision.ref}: clip {self.train_ds.clip_ids[bad[0]]} has weight "
                           f"{self.train_ds.weights[bad[0]]!r}" + (f" ({len(bad) - 1} more)" if len(bad) > 1 else ""),
                           f"set its weight with an edit: {WEIGHT_RULE}")
        unlabelled = [c for c, y, w in zip(self.train_ds.clip_ids, self.train_ds.labels.tolist(),
                                           self.train_ds.weights.tolist()) if y < 0 and w > 0]
        if unlabelled:  # their loss would be NaN at the first step that draws one
            raise BadInput(f"{revision.ref}: {len(unlabelled)} of {len(self.train_ds)} training clips have no label "
                           f"(e.g. {', '.join(unlabelled[:3])})",
                           "label them, or delete them (or set their weight to 0) with an edit")
        frames = set(self.train_ds.n_frames.tolist())
        if frames != {self.mspec.frames}:  # the models' positional embeddings fix the clip length
            raise BadInput(f"{revision.ref} clips have {sorted(frames)} frames; {cfg.model} takes {self.mspec.frames}",
                           Fix(f"re-ingest with clips of {self.mspec.frames} frames", "clip_frames",
                               {"frames": self.mspec.frames}))
        self.val_revision = resolve_train_table(ws, cfg.val_table) if cfg.val_table else revision
        val_where = None if cfg.val_table else val_where
        self.task = ws.task(revision.dataset)
        self.competition = self.task.event_task
        if self.competition:  # score only the windows the competition scores
            where = (val_where if val_where is not None else pc.scalar(True)) & pc.field("eval_window").is_valid()
            videos_rev = self.task.head(ws.tables, VIDEOS)
            label = ws.tables.spec(videos_rev.dataset, videos_rev.table).label_column
            videos = ws.tables.read(videos_rev, ["video_id", label])
            self.video_target = dict(zip(videos["video_id"].to_pylist(), videos[label].to_pylist()))
        else:
            where = val_where
        self.val_ds = ClipDataset.from_revision(ws, self.val_revision, self.eval_tf, where=where)
        self.val_loader = None
        self.metric = self.task.metric

        self.sampler = WeightedClipSampler(self.train_ds.weights, cfg.draws_per_epoch or None, seed=cfg.seed,
                                           rank=self.d.rank, world_size=self.d.world_size)
        self.loader = ClipLoader(self.train_ds, cfg.batch_size, sampler=self.sampler, workers=cfg.workers,
                                 device=self.device, decode_on_device=cfg.decode_on_device)
        torch.manual_seed(cfg.seed + self.d.rank)  # augmentation draws differ per rank
        self.model.to(self.device)
        self.net = DistributedDataParallel(self.model) if self.d.enabled else self.model
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer,
                                                                    T_max=max(1, cfg.epochs * len(self.loader)))

    def record(self) -> RunRecord:
        inputs = RunInputs(dataset=self.revision.dataset, table=self.revision.table, revision=self.revision.number,
                           ref=self.revision.ref, fingerprint=self.revision.fingerprint, rows=self.revision.rows,
                           val={"ref": self.val_revision.ref, "fingerprint": self.val_revision.fingerprint},
                           train_clips=len(self.train_ds), val_clips=len(self.val_ds))
        return RunRecord(
            run=self.run, config=self.cfg.to_dict(), inputs=inputs, backend=self.ws.backend,
            task="binary" if self.binary else "multiclass", classes=list(self.spec.classes or []),
            model={**self.mspec.to_dict(), "weights": self.weights_loaded}, metric=self.metric,
            transforms={"train": self.train_ds.transform.to_dict(), "eval": self.eval_tf.to_dict()},
            sampler={"num_samples": self.sampler.num_samples, "seed": self.cfg.seed},
            world_size=self.d.world_size, device=str(self.device), versions=_versions())

    # -- one epoch ---------------------------------------------------------------------------------------
    def train_epoch(self, epoch: int) -> tuple[pa.Table | None, list, float]:
        """One epoch; returns (dynamics on rank 0, skipped clips, seconds spent on dynamics logging)."""
        self.sampler.set_epoch(epoch)
        self.net.train()
        ids, steps, kept = [], [], {k: [] for k in ("label", "weight", *_DYNAMICS)}
        skipped, logging_s = [], 0.0
        amp = torch.autocast("cuda", dtype=torch.bfloat16) if self.device.type == "cuda" else nullcontext()
        bar = progress_bar(self.loader, desc=f"epoch {epoch + 1}/{self.cfg.epochs}", unit="batch",
                           show=self.progress, leave=False)
        allowed = self.cfg.max_skip_fraction * len(self.sampler)
        for step, batch in enumerate(bar):
            fault_point("train.step")
            skipped += batch["skipped"]
            if len(skipped) > allowed:
                raise TooManySkipped(epoch + 1, skipped, len(self.sampler), self.cfg.max_skip_fraction)
            if batch["video"].numel() == 0:
                continue
            labels = batch["label"].to(self.device)
            with amp:
                logits, _ = self.net(batch["video"])
            out = sample_outputs(logits.float(), labels, self.binary)
            loss = out["loss"].mean()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
            self.optimizer.step()
            self.scheduler.step()
            # Dynamics come from this forward pass: keep detached tensors on the device (no sync per step).
            t = time.perf_counter()
            ids += batch["clip_id"]
            steps += [step] * len(batch["clip_id"])
            kept["label"].append(batch["label"])
            kept["weight"].append(batch["weight"])
            for k in _DYNAMICS:
                kept[k].append(out[k].detach())
            logging_s += time.perf_counter() - t
            if step % 10 == 0 or self.device.type == "cpu":  # synced anyway (a GPU every 10th step)
                value = loss.item()
                if not math.isfinite(value):  # a run that has diverged stops
                    raise NonFiniteLoss(epoch + 1, step + 1, value)
                bar.set_postfix(loss=f"{value:.3f}")
        t = time.perf_counter()
        cols = {"clip_id": ids, "step": steps,
                **{k: torch.cat(v).cpu().numpy() if v else np.zeros(0) for k, v in kept.items()}}
        parts = gather_rows([(cols, skipped)], self.d)  # one collective per epoch, on every rank
        if not self.d.is_main:
            return None, [], logging_s + time.perf_counter() - t
        merged = {k: np.concatenate([np.asarray(part[k]) for part, _ in parts]) for k in cols}
        table = pa.table({"clip_id": pa.array(merged["clip_id"].tolist(), pa.string()),
                          "epoch": pa.array(np.full(len(merged["clip_id"]), epoch + 1), pa.int32()),
                          "step": pa.array(merged["step"], pa.int32()),
                          "label": pa.array(merged["label"], pa.int32()),
                          "weight": pa.array(merged["weight"], pa.float32()),
                          **{k: pa.array(merged[k], pa.float32()) for k in _DYNAMICS if k != "pred"},
                          "pred": pa.array(merged["pred"], pa.int32())})
        return table, [s for _, part in parts for s in part], logging_s + time.perf_counter() - t

    def eval_loader(self, dataset: ClipDataset, rows: list[int] | None = None) -> ClipLoader:
        """This rank's contiguous share of `dataset` (or of the given rows), in order."""
        rows = list(range(len(dataset))) if rows is None else rows
        return ClipLoader(dataset, self.cfg.batch_size, sampler=[rows[i] for i in shard(len(rows), self.d)],
                          workers=min(self.cfg.workers, 1), device=self.device,
                          decode_on_device=self.cfg.decode_on_device)

    @torch.no_grad()
    def predict(self, dataset: ClipDataset, desc: str, loader: ClipLoader | None = None,
                flip_tta: bool = False) -> dict | None:
        """Eval-mode outputs for every row of `dataset`, gathered on rank 0 (None elsewhere).
        `flip_tta` averages the logits of each clip and its horizontal mirror."""
        self.net.eval()
        loader = loader or self.eval_loader(dataset)
        cols = {k: [] for k in ("index", "loss", "logit", "prob", "prob_label", "margin", "pred", "embedding")}
        skipped, forward_s, n = [], 0.0, 0
        for batch in progress_bar(loader, desc=desc, unit="batch", show=self.progress, leave=False):
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
            for k in ("loss", "logit", "prob", "prob_label", "margin", "pred"):
                cols[k] += out[k].cpu().tolist()
            cols["embedding"] += list(features.float().cpu().numpy().astype(np.float16))
        parts = gather_rows([(cols, skipped, forward_s, n)], self.d)
        if not self.d.is_main:
            return None
        merged = {k: [v for c, *_ in parts for v in c[k]] for k in cols}
        merged["skipped"] = [s for _, sk, *_ in parts for s in sk]
        total_n = sum(p[3] for p in parts)
        merged["ms_per_clip"] = 1000 * sum(p[2] for p in parts) / max(1, total_n)
        return merged

    def validate(self) -> dict:
        if len(self.val_ds) == 0:
            return {}
        if self.val_loader is None:  # made once: its worker persists across epochs
            self.val_loader = self.eval_loader(self.val_ds)
        out = self.predict(self.val_ds, "validating", self.val_loader)
        if out is None:
            return {}
        losses = np.asarray(out["loss"], dtype=float)
        return {"val_loss": float(np.nanmean(losses)) if len(losses) else None, "val": self.score(self.val_ds, out)}

    def score(self, dataset: ClipDataset, out: dict) -> dict:
        """The task's metrics of predictions `out` over `dataset`: the competition's mAP over the τ windows of an
        event task, else accuracy, macro-F1, per-class accuracy and confusion."""
        idx = np.asarray(out["index"], dtype=int)
        if self.competition:
            videos = [dataset.video_ids[i] for i in idx]
            windows = dataset.rows["eval_window"].to_pylist()
            return competition_map([self.video_target[v] for v in videos], [windows[i] for i in idx], out["prob"])
        return classification_metrics(dataset.labels[idx], out["pred"], self.spec.classes)


_DYNAMICS = ("loss", "logit", "prob", "prob_label", "margin", "pred")


class TooManySkipped(BadInput):
    """More of an epoch's draws than allowed could not be read: a broken cache or source, not a few bad clips."""

    def __init__(self, epoch: int, skipped: list, draws: int, fraction: float):
        self.skipped = skipped
        first = "; ".join(f"{clip} ({reason})" for clip, reason in skipped[:3])
        super().__init__(f"epoch {epoch}: more than {fraction:.0%} of {draws} drawn clips could not be read "
                         f"(the run lists them): {first}",
                         "repair the frame cache or the source videos (re-ingest), delete those clips, or allow "
                         "more skipped clips (max_skip_fraction)")


class NonFiniteLoss(BadInput):
    """The training loss became NaN or infinite: the settings (a learning rate far too high) or unlabelled
    training samples, never something more steps would fix."""

    def __init__(self, epoch: int, step: int, value: float):
        super().__init__(f"epoch {epoch}, step {step}: the training loss is {value} — the run stopped",
                         "lower the learning rate (lr), and check that every training sample has a label")


def train(ws: Workspace, cfg: TrainConfig | None = None, resume: str | None = None, echo=print,
          progress: bool = True) -> str:
    """Train and return the run id. `resume` continues a run from its last checkpoint."""
    runs = ws.runs
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
        trainer = Trainer(ws, cfg, run, d, device, echo, progress)
        try:
            trainer.setup(revision)
        except BaseException:
            if not resume and d.is_main:
                _remove_if_empty(runs.dir(run))  # a run that never started leaves no folder behind
            raise
        start_epoch, best = 0, -math.inf
        record = trainer.record()
        record.created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        if resume:
            ckpt = load_checkpoint(runs.dir(run) / "last.pt", trainer, device)
            if ckpt is not None:
                start_epoch, best = ckpt["epoch"] + 1, ckpt["best"]
                for kept in ("checkpoints", "skipped_clips", "created", "best", "collections",
                             "inference_ms_per_clip"):
                    setattr(record, kept, getattr(previous, kept))
                record.epochs = [e for e in previous.epochs if e["epoch"] <= ckpt["epoch"] + 1]
                if d.is_main:
                    echo(f"{run}: resuming after epoch {ckpt['epoch'] + 1} of {cfg.epochs}")
        if d.is_main:
            runs.write_record(run, record)
            echo(f"{run}: training {cfg.model} on {revision.ref} ({len(trainer.train_ds)} train clips, "
                 f"{trainer.sampler.num_samples} draws/epoch, {len(trainer.val_ds)} val clips) on {device}"
                 + (f" × {d.world_size} ranks" if d.enabled else ""))
            if note := oversized_cache_note(trainer.train_ds.frame_size, trainer.mspec.input_size):
                echo(f"note: {note}")
        try:
            for epoch in range(start_epoch, cfg.epochs):
                started = time.time()
                dynamics, skipped, logging_s = trainer.train_epoch(epoch)
                trained_s = time.time() - started
                val = trainer.validate()
                if d.is_main:
                    t = time.perf_counter()
                    runs.write_dynamics(run, epoch + 1, dynamics)  # before the checkpoint: a redo replaces it
                    logging_s += time.perf_counter() - t
                    value = val.get("val", {}).get(trainer.metric)
                    improved = value is not None and not math.isnan(value) and value > best
                    best = value if improved else best
                    summary = {"epoch": epoch + 1, "train_loss": pc.mean(dynamics["loss"]).as_py(),
                               "draws": dynamics.num_rows, "seconds": round(time.time() - started, 2),
                               "train_seconds": round(trained_s, 3), "dynamics_logging_seconds": round(logging_s, 4),
                               "skipped": len(skipped), **val}
                    record.epochs.append(summary)
                    record.skipped_clips = (record.skipped_clips + [list(s) for s in skipped])[:200]
                    record.checkpoints["last"] = save_checkpoint(runs.dir(run) / "last.pt", trainer, epoch, best)
                    if improved or not val:
                        record.checkpoints["best"] = save_checkpoint(runs.dir(run) / "best.pt", trainer, epoch, best)
                        record.best = {"epoch": epoch + 1, "metric": trainer.metric, "value": value}
                    runs.write_record(run, record)
                    plot_curves(record.epochs, trainer.metric, runs.plot_path(run, "curves.png"))
                    shown = f"{trainer.metric} {value:.4f}" if value is not None else "no validation"
                    loss = "-" if summary["train_loss"] is None else f"{summary['train_loss']:.4f}"
                    skipped_text = f", {len(skipped)} clips skipped" if skipped else ""
                    echo(f"epoch {epoch + 1}/{cfg.epochs}: train loss {loss}, {shown} "
                         f"({summary['seconds']:.0f} s{skipped_text})")
                last = epoch + 1 == cfg.epochs
                if last or (cfg.collect_every and (epoch + 1) % cfg.collect_every == 0):
                    collect_run(trainer, record, tag="" if last else f"epoch{epoch + 1}")
            if start_epoch >= cfg.epochs:  # resumed after every epoch had ended: the final collection was cut off
                collect_run(trainer, record)
            if d.is_main:
                record.status = "completed"
                runs.write_record(run, record)
        except BaseException as exc:
            if d.is_main:
                record.status = "failed"
                if isinstance(exc, TooManySkipped):
                    record.skipped_clips = (record.skipped_clips + [list(s) for s in exc.skipped])[:200]
                runs.write_record(run, record)
            raise
    return run


def _remove_if_empty(folder: Path) -> None:
    (folder / OWNER).unlink(missing_ok=True)  # the lock of a run that never started
    try:
        folder.rmdir()
    except OSError:  # not empty (or already gone): keep it
        pass


def inference_trainer(ws: Workspace, run_ref: str, checkpoint: str = "best", echo=print,
                      progress: bool = True) -> tuple[Trainer, RunRecord, Path]:
    """A finished run's model with a checkpoint loaded, ready for eval passes: (trainer, record, checkpoint)."""
    runs = ws.runs
    run = runs.resolve(run_ref)
    record = runs.record(run)
    if checkpoint not in ("best", "last"):
        raise BadInput(f"unknown checkpoint {checkpoint!r}", "use best or last")
    path = runs.dir(run) / f"{checkpoint}.pt"
    if not path.exists():
        raise BadInput(f"run {run} has no {checkpoint}.pt", "train it to the end of an epoch first")
    cfg = TrainConfig.from_dict({**record.config, "weights": "none"})  # the checkpoint supplies the weights
    trained_on = record.trained_on(ws.tables)
    device = resolve_device(cfg.device)
    trainer = Trainer(ws, cfg, run, Dist(), device, echo, progress)
    trainer.setup(trained_on)
    load_checkpoint(path, trainer, device, model_only=True)
    return trainer, record, path


def collect(ws: Workspace, run_ref: str, table_ref: str, checkpoint: str = "best", echo=print,
            progress: bool = True) -> str:
    """Run a finished run's checkpoint over any table revision (`curate collect`); returns the collection name."""
    trainer, record, _ = inference_trainer(ws, run_ref, checkpoint, echo, progress)
    tables = collect_tables(trainer, [ws.resolve(table_ref)], tag=checkpoint if checkpoint != "best" else "")
    name = next(iter(tables))
    record.collections[name] = {"rows": tables[name].num_rows, "checkpoint": checkpoint}
    ws.runs.write_record(trainer.run, record)
    return name


def train_folds(ws: Workspace, cfg: TrainConfig, folds: int, echo=print, progress: bool = True) -> list[str]:
    """One run per fold of the fold column written by `curate ingest --folds K`: run k validates on fold k
    and trains on the others, so together they give out-of-fold predictions for every labelled clip."""
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

