"""Training configuration: what `curate train` accepts, recorded whole in run.json."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class TrainConfig:
    table: str = "latest"  # `latest` = the clips table of the current dataset at head; or clips@3, clips@tag
    val_table: str | None = None  # default: the val split of the same revision
    model: str = "mvit_v2_s"
    weights: str = "kinetics400"  # or none; falls back to random init with a notice when not loadable
    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-4
    weight_decay: float = 0.05
    draws_per_epoch: int = 0  # 0: the number of non-zero-weight clips (3LC's epoch); the winner used 6000
    grad_clip: float = 1.0
    seed: int = 0
    workers: int = 2
    device: str = "auto"  # auto | cpu | cuda
    train_preset: str = "winner"
    collect_every: int = 0  # also run the collection pass every K epochs (0: only at the end)
    fold: int | None = None  # with a fold column: validate on this fold, train on the others
    name: str | None = None
    max_skip_fraction: float = 0.05  # stop when more of an epoch's draws than this cannot be read

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
