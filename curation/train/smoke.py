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
from curation.train.checkpoint import load_checkpoint, save_checkpoint
from curation.train.collect import collect_tables, collected_revisions
from curation.train.config import TrainConfig, resolve_train_table
from curation.train.distributed import Dist
from curation.train.loop import Trainer, resolve_device


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
    report = SmokeReport(revision.ref)
    with tempfile.TemporaryDirectory(prefix="curate-smoke-") as tmp:
        trainer = Trainer(ws, cfg, "smoke", Dist(), resolve_device(cfg.device), echo, progress=False)
        trainer.runs = LocalRunStore(Path(tmp))  # the collection pass writes here, never to the workspace
        trainer.runs.dir("smoke").mkdir()
        with report.stage("setup", lambda: f"{cfg.model} on {revision.ref}, {len(trainer.train_ds)} train clips"):
            trainer.setup(revision)
        with report.stage("train", lambda: f"{batches} batch(es) of {cfg.batch_size}, mean loss {loss:.4f}"
                                           + (f", {len(skipped)} unreadable clip(s) skipped" if skipped else "")):
            dynamics, skipped, _ = trainer.train_epoch(0)
            loss = float(dynamics["loss"].to_numpy().mean()) if dynamics is not None and dynamics.num_rows \
                else float("nan")
        trainer.val_ds = trainer.val_ds.sample(clips, cfg.seed)
        with report.stage("validate", lambda: f"{len(trainer.val_ds)} clip(s), {_metric(trainer, val)}"):
            val = trainer.validate()
        with report.stage("collect", lambda: ", ".join(f"{k} {t.num_rows} rows" for k, t in tables.items())):
            tables = collect_tables(trainer, collected_revisions(trainer), sample=clips)
        with report.stage("checkpoint", lambda: f"saved and reloaded {size / 1e6:.1f} MB, weights identical"):
            size = _round_trip(trainer, Path(tmp) / "smoke.pt")
    return report


def _metric(trainer, val: dict) -> str:
    """The run's validation metric on the sample (NaN when the sample lacks a class: it is a few clips)."""
    value = (val.get("val") or {}).get(trainer.metric)
    return f"{trainer.metric} {value:.3f}" if isinstance(value, float) else "no validation clips"


def _round_trip(trainer, path: Path) -> int:
    """Save a checkpoint, scramble the weights, load it back and check every tensor came back."""
    saved = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    save_checkpoint(path, trainer, 0, float("-inf"))
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.add_(1.0)
    load_checkpoint(path, trainer, trainer.device)
    restored = trainer.model.state_dict()
    broken = [k for k, v in saved.items() if not torch.equal(v, restored[k])]
    if broken:
        raise RuntimeError(f"checkpoint round trip changed {len(broken)} tensor(s), e.g. {broken[0]}")
    return path.stat().st_size
