"""`curate train --smoke`: every stage of a run on a few clips of the real table, in seconds, so a broken
pipeline (an unreadable cache, a transform bug, a model that does not fit the clips, a checkpoint that does
not load) shows before a long run does. Nothing is kept: the run lives in a temporary folder."""
from __future__ import annotations

import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from curation.runs.store import LocalRunStore
from curation.train.checkpoint import TrainState, load_checkpoint, save_checkpoint
from curation.train.collect import collect_tables, collected_revisions
from curation.train.config import TrainConfig, resolve_train_table
from curation.train.distributed import Dist
from curation.train.loop import new_state, train_loader, train_one_epoch, validate
from curation.train.predict import predictor_for, resolve_device
from curation.train.setup import prepare


@dataclass
class SmokeReport:
    table: str
    stages: list[tuple[str, float, str]] = field(default_factory=list)  # (stage, seconds, what it did)

    @property
    def seconds(self) -> float:
        return sum(s for _, s, _ in self.stages)

    @contextmanager
    def stage(self, name: str, describe):
        """Time a stage; once it has passed, record it with `describe()` (what it did)."""
        start = time.perf_counter()
        yield
        self.stages.append((name, time.perf_counter() - start, describe()))


def smoke_test(ws, cfg: TrainConfig, batches: int = 2, clips: int = 8, echo=print) -> SmokeReport:
    """Train `batches` batches, validate and collect `clips` clips of each table, and round-trip a checkpoint,
    on the table `cfg` names. Raises what a real run would raise."""
    revision = resolve_train_table(ws, cfg.table)
    cfg = replace(cfg, epochs=1, draws_per_epoch=batches * cfg.batch_size, workers=min(cfg.workers, 1))
    device = resolve_device(cfg.device)
    report = SmokeReport(revision.ref)
    with tempfile.TemporaryDirectory(prefix="curate-smoke-") as tmp:
        runs = LocalRunStore(Path(tmp))  # the collection pass writes here, never to the workspace
        with report.stage("setup", lambda: f"{cfg.model} on {revision.ref}, {len(setup.train_ds)} train clips"):
            setup = prepare(ws, cfg, revision, device, notice=echo)
            loader = train_loader(setup, cfg, Dist(), device)
            setup.model.to(device)
            state = new_state(setup, cfg, loader)
            predictor = predictor_for(setup.model, setup.mspec, setup.binary, cfg, device, progress=False)
        with report.stage("train", lambda: f"{batches} batch(es) of {cfg.batch_size}, mean loss {loss:.4f}"
                                           + (f", {len(skipped)} unreadable clip(s) skipped" if skipped else "")):
            dynamics, skipped, _ = train_one_epoch(setup.model, state, loader, 0, cfg, setup.binary, device, Dist(),
                                                   progress=False)
            loss = float(dynamics["loss"].to_numpy().mean()) if dynamics is not None and dynamics.num_rows \
                else float("nan")
        val_sample = setup.val_ds.sample(clips, cfg.seed)
        with report.stage("validate", lambda: f"{len(val_sample)} clip(s), {_metric(setup.task.metric, val)}"):
            val = validate(predictor, setup.task, val_sample,
                           setup.task.targets(ws.tables, val_sample.rows, setup.videos))
        with report.stage("collect", lambda: ", ".join(f"{k} {t.num_rows} rows" for k, t in tables.items())):
            tables, _ = collect_tables(predictor, ws, runs, "smoke", collected_revisions(ws, revision),
                                       home=revision.dataset, classes=setup.classes, seed=cfg.seed, sample=clips)
        with report.stage("checkpoint", lambda: f"saved and reloaded {size / 1e6:.1f} MB, weights identical"):
            size = _round_trip(state, cfg, device, runs)
    return report


def _metric(metric: str, val: dict) -> str:
    """The run's validation metric on the sample (NaN when the sample lacks a class: it is a few clips)."""
    value = (val.get("val") or {}).get(metric)
    return f"{metric} {value:.3f}" if isinstance(value, float) else "no validation clips"


def _round_trip(state: TrainState, cfg: TrainConfig, device, runs: LocalRunStore) -> int:
    """Save a checkpoint, scramble the weights, load it back and check every tensor came back."""
    saved = {k: v.detach().clone() for k, v in state.model.state_dict().items()}
    save_checkpoint(runs, "smoke", "smoke.pt", state, cfg.to_dict())
    with torch.no_grad():
        for p in state.model.parameters():
            p.add_(1.0)
    data = runs.read_file("smoke", "smoke.pt")
    load_checkpoint(data, state, device)
    restored = state.model.state_dict()
    broken = [k for k, v in saved.items() if not torch.equal(v, restored[k])]
    if broken:
        raise RuntimeError(f"checkpoint round trip changed {len(broken)} tensor(s), e.g. {broken[0]}")
    return len(data)
