"""Training configuration: what `curate train` accepts, recorded whole in run.json."""
from __future__ import annotations

import math
from pathlib import Path
from dataclasses import asdict, dataclass, fields

from curation.bounds import MAX_SEED, MAX_WORKERS, whole
from curation.errors import BadInput
from curation.ingest.splits import MAX_FOLDS
from curation.models import HEADS
from curation.task import SAMPLES


# The learning rate each model's recipe fine-tunes its pretrained backbone with (bench/README.md, recipe.py):
# the Nexar winner's for MViTv2-S from Kinetics-400; for the tiny model from its synthetic backbone.
RECIPE_LR = {"mvit_v2_s": 1e-4, "mvit_tiny": 5e-4}
# Upper bounds far beyond any real run, so that a mistyped huge number is refused at once instead of training for
# ever or overflowing a library's integer (curation.bounds).
MOST = {"epochs": 100_000, "batch_size": 65_536, "draws_per_epoch": 10**9, "workers": MAX_WORKERS,
        "collect_every": 100_000, "seed": MAX_SEED, "fold": MAX_FOLDS - 1}


@dataclass
class TrainConfig:
    table: str = "latest"  # `latest` = the samples (clips) table of the current dataset at head; or clips@3
    val_table: str | None = None  # default: the val split of the same revision
    model: str = "mvit_v2_s"
    # pretrained (the model's usual start: Kinetics-400 for mvit_v2_s, falling back to random init with a notice
    # when it cannot be downloaded; the packaged synthetic backbone for mvit_tiny), kinetics400, none, or a file
    weights: str = "pretrained"
    head: str = "auto"  # auto | mlp | linear (models/mvit.py: head_for)
    epochs: int = 10
    batch_size: int = 16
    lr: float | None = None  # None: the model's recipe (RECIPE_LR)
    weight_decay: float = 0.05
    draws_per_epoch: int = 0  # 0: the number of non-zero-weight clips (3LC's epoch); the winner used 6000
    grad_clip: float = 1.0
    warmup: float = 0.0  # share of all steps over which the learning rate rises linearly, then cosine decay
    balance: bool = False  # draw each class with the same total probability (weights scaled per class)
    seed: int = 0
    workers: int = 2
    device: str = "auto"  # auto | cpu | cuda
    decode_on_device: bool = False  # JPEG decode and augmentation on `device` (ClipLoader(decode_on_device=True))
    train_preset: str = "winner"
    collect_every: int = 0  # also run the collection pass every K epochs (0: only at the end)
    fold: int | None = None  # with a fold column: validate on this fold, train on the others
    name: str | None = None
    max_skip_fraction: float = 0.05  # stop when more of an epoch's draws than this cannot be read

    def __post_init__(self):
        """Refuse settings that cannot train (before a run is created), each in one line."""
        if self.lr is None:
            self.lr = RECIPE_LR.get(self.model, RECIPE_LR["mvit_v2_s"])
        checks = [
            ("epochs", self.epochs, whole(self.epochs, 1, MOST["epochs"]), f"1 to {MOST['epochs']}"),
            ("batch_size", self.batch_size, whole(self.batch_size, 1, MOST["batch_size"]),
             f"1 to {MOST['batch_size']}"),
            ("draws_per_epoch", self.draws_per_epoch, whole(self.draws_per_epoch, 0, MOST["draws_per_epoch"]),
             f"0 (one per non-zero-weight clip) to {MOST['draws_per_epoch']}"),
            ("workers", self.workers, whole(self.workers, 0, MOST["workers"]), f"0 to {MOST['workers']}"),
            ("seed", self.seed, whole(self.seed, 0, MOST["seed"]), f"a whole number from 0 to {MOST['seed']}"),
            ("lr", self.lr, _finite(self.lr) and 0 < self.lr <= 10, "a number above 0 and at most 10, e.g. 1e-4"),
            ("weight_decay", self.weight_decay, _finite(self.weight_decay) and 0 <= self.weight_decay <= 100,
             "0 to 100 (AdamW's decoupled decay; 0.05 is usual)"),
            ("fold", self.fold, self.fold is None or whole(self.fold, 0, MOST["fold"]),
             f"a fold of the table, 0 to {MOST['fold']}"),
            ("grad_clip", self.grad_clip, _finite(self.grad_clip) and self.grad_clip >= 0, "0 (off) or more"),
            ("warmup", self.warmup, _finite(self.warmup) and 0 <= self.warmup < 1, "a share of the steps in [0, 1)"),
            ("collect_every", self.collect_every, whole(self.collect_every, 0, MOST["collect_every"]),
             "0 (only at the end) or a number of epochs"),
            ("max_skip_fraction", self.max_skip_fraction, _finite(self.max_skip_fraction)
             and 0 <= self.max_skip_fraction <= 1, "between 0 and 1"),
        ]
        checks.append(("head", self.head, self.head in HEADS, " or ".join(HEADS)))
        checks.append(("weights", self.weights, self.weights in ("pretrained", "kinetics400", "none")
                       or Path(str(self.weights)).expanduser().is_file(),
                       "pretrained, kinetics400, none, or the path of a weights file (.pt)"))
        for name, value, ok, expected in checks:
            if not ok:
                raise BadInput(f"training setting {name} = {value!r} is invalid", f"use {expected}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """The settings of a stored run; a setting this version does not know is refused, never dropped (the
        run would silently train differently from how it was started)."""
        d = {"head": "mlp", **d}  # a run recorded before heads were chosen had the MLP
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise BadInput(f"unknown training setting(s): {', '.join(unknown)}",
                           "the run was made by another version of curate: use that version, or start a new run")
        return cls(**d)


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def resolve_train_table(ws, ref: str):
    """`latest` alone means the samples table of the workspace's current dataset at head; any other reference
    must name its dataset's samples table (labelled train/val clips)."""
    revision = ws.resolve(ws.task().ref(SAMPLES) if ref == "latest" else ref)
    ws.task(revision.dataset).require(ws.tables, revision, (SAMPLES,), "training needs a table of labelled clips")
    return revision
