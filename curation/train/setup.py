"""What a run reads before its first step, checked: the revision and its task, the model, the training and
validation clips, and the videos revision its targets come from. A bad table is refused here, before any
training, with the problem and the fix."""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow.compute as pc
import torch

from curation.data.dataset import ClipDataset
from curation.data.transforms import get_preset
from curation.errors import BadInput, Fix
from curation.models.mvit import ModelSpec, build_model
from curation.tables.content import WEIGHT_RULE, valid_weight
from curation.task import Task
from curation.train.config import TrainConfig, resolve_train_table
from curation.train.fit import check_fits


@dataclass
class RunSetup:
    revision: object  # the clips revision trained on
    val_revision: object  # where validation clips come from (the same revision unless val_table is set)
    videos: object  # the videos revision the task's targets are read from, pinned for the run's life
    task: Task
    classes: list[str]
    model: torch.nn.Module
    mspec: ModelSpec
    weights_loaded: dict
    train_ds: ClipDataset
    val_ds: ClipDataset

    @property
    def binary(self) -> bool:
        return len(self.classes) == 2

    def pinned(self) -> dict:
        """The videos revision as the run record keeps it."""
        return {"table": self.videos.table, "revision": self.videos.number, "ref": self.videos.ref,
                "fingerprint": self.videos.fingerprint}


def split_filters(fold: int | None) -> tuple[pc.Expression, pc.Expression]:
    """(train, val) clips: by the split column, or with k folds all labelled clips outside / inside `fold`."""
    if fold is None:
        return pc.field("split") == "train", pc.field("split") == "val"
    labelled = pc.field("split").isin(["train", "val"]) & (pc.field("fold") >= 0)
    return labelled & (pc.field("fold") != fold), labelled & (pc.field("fold") == fold)


def prepare(ws, cfg: TrainConfig, revision, device: torch.device, notice=print, pinned: dict | None = None) -> RunSetup:
    """Check `revision` and build the run's model and datasets. `pinned`: the videos revision a resumed run
    recorded (a new run pins the head)."""
    spec = ws.tables.spec(revision.dataset, revision.table)
    classes = list(spec.classes or [])
    if len(classes) < 2:
        raise BadInput(f"{spec.full_name} has no label classes", "train on a clips table with labels")
    torch.manual_seed(cfg.seed)  # the same initial weights on every rank and every rerun
    model, mspec, weights_loaded = build_model(cfg.model, 1 if len(classes) == 2 else len(classes), cfg.weights,
                                               notice=notice, head=cfg.head)
    check_fits(mspec, model, cfg.batch_size, cfg.workers, device)
    train_where, val_where = split_filters(cfg.fold)
    train_ds = ClipDataset.from_revision(ws, revision, get_preset(cfg.train_preset, size=mspec.input_size),
                                         where=train_where)
    _check_training_clips(train_ds, revision)
    frames = set(train_ds.n_frames.tolist())
    if frames != {mspec.frames}:  # the models' positional embeddings fix the clip length
        raise BadInput(f"{revision.ref} clips have {sorted(frames)} frames; {cfg.model} takes {mspec.frames}",
                       Fix(f"re-ingest with clips of {mspec.frames} frames", "clip_frames", {"frames": mspec.frames}))
    val_revision = resolve_train_table(ws, cfg.val_table) if cfg.val_table else revision
    task = ws.task(revision.dataset)
    videos = task.videos_at(ws.tables, pinned)
    val_ds = ClipDataset.from_revision(ws, val_revision, get_preset("eval", size=mspec.input_size),
                                       where=task.scored(None if cfg.val_table else val_where))
    return RunSetup(revision, val_revision, videos, task, classes, model, mspec, weights_loaded, train_ds, val_ds)


def _check_training_clips(train_ds: ClipDataset, revision) -> None:
    if len(train_ds) == 0:
        raise BadInput(f"{revision.ref} has no training clips", "check the split/fold columns")
    bad = [i for i, w in enumerate(train_ds.weights.tolist()) if not valid_weight(w)]
    if bad:
        raise BadInput(f"{revision.ref}: clip {train_ds.clip_ids[bad[0]]} has weight {train_ds.weights[bad[0]]!r}"
                       + (f" ({len(bad) - 1} more)" if len(bad) > 1 else ""),
                       f"set its weight with an edit: {WEIGHT_RULE}")
    unlabelled = [c for c, y, w in zip(train_ds.clip_ids, train_ds.labels.tolist(), train_ds.weights.tolist())
                  if y < 0 and w > 0]
    if unlabelled:  # their loss would be NaN at the first step that draws one
        raise BadInput(f"{revision.ref}: {len(unlabelled)} of {len(train_ds)} training clips have no label "
                       f"(e.g. {', '.join(unlabelled[:3])})",
                       "label them, or delete them (or set their weight to 0) with an edit")

