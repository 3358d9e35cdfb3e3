"""The run record (`runs/<run>/run.json`) as a type: what a run trained on, how, and what it produced.

Schema versions: 1 = run.json before the `schema` field (same fields; migrated on read); 2, 3 (`group`), 4 (`inputs.videos`) add fields. A
record written by a newer curate, or with fields this version does not know, is refused in one line rather
than read half.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from curation.errors import BadInput
from curation.runs.protocol import CollectionKey

RUN_SCHEMA = 4  # 3: `group` (seed repeats); 4: inputs.videos (the pinned videos revision)


@dataclass
class RunInputs:
    """The exact table revision a run trained on (and its validation revision)."""
    dataset: str
    table: str
    revision: int
    ref: str
    fingerprint: str
    rows: int = 0
    val: dict = field(default_factory=dict)  # {"ref", "fingerprint"} of the validation revision
    videos: dict = field(default_factory=dict)  # {"table", "revision", "ref", "fingerprint"}: targets come from it
    train_clips: int = 0
    val_clips: int = 0

    def videos_of(self, dataset: str) -> dict | None:
        """The videos revision the run pinned, for its own dataset; None (the head) for another dataset's."""
        return self.videos if dataset == self.dataset else None


@dataclass
class RunRecord:
    run: str
    config: dict  # TrainConfig.to_dict()
    inputs: RunInputs
    status: str = "running"  # running | completed | failed
    backend: str = "lance"
    task: str = "binary"  # binary | multiclass
    classes: list = field(default_factory=list)
    metric: str = ""  # the validation metric `best` follows
    model: dict = field(default_factory=dict)  # model spec + the weights actually loaded
    transforms: dict = field(default_factory=dict)
    sampler: dict = field(default_factory=dict)
    world_size: int = 1
    device: str = "cpu"
    versions: dict = field(default_factory=dict)
    epochs: list = field(default_factory=list)  # one summary per epoch (train loss, val metrics, seconds, …)
    checkpoints: dict = field(default_factory=dict)  # name → {"file", "sha256", "epoch"}
    best: dict | None = None  # {"epoch", "metric", "value"}
    skipped_clips: list = field(default_factory=list)  # [clip_id, reason], the first 200
    collections: dict = field(default_factory=dict)  # CollectionKey string → {"rows", "epoch" | "checkpoint"}
    inference_ms_per_clip: float | None = None
    evaluations: dict = field(default_factory=dict)  # "<table>@<rev>:<split>" → metrics, ms/clip (curate evaluate)
    group: str = ""  # seed repeats of one revision and config (`train --repeat`) share the first run's id
    created: str = ""
    updated: str = ""
    schema: int = RUN_SCHEMA

    def trained_on(self, tables):
        """The Revision this run trained on, from any table store."""
        return tables.revision(self.inputs.dataset, self.inputs.table, self.inputs.revision)

    def training_collection(self) -> CollectionKey:
        """The key of the final collection pass over the training revision."""
        return CollectionKey(self.inputs.table, self.inputs.revision)

    @property
    def best_value(self) -> float | None:
        return (self.best or {}).get("value")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "run.json") -> "RunRecord":
        schema = d.get("schema", 1)
        if not isinstance(schema, int) or schema > RUN_SCHEMA:
            raise BadInput(f"{where} has run schema {schema!r}; this version of curate reads up to {RUN_SCHEMA}",
                           "read the run with the version of curate that wrote it")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise BadInput(f"{where} has unknown field(s): {', '.join(unknown)}",
                           "read the run with the version of curate that wrote it")
        missing = [k for k in ("run", "config", "inputs") if k not in d]
        if missing:
            raise BadInput(f"{where} lacks {', '.join(missing)}", "the run never started: train a new one")
        inputs = d["inputs"]
        unknown = sorted(set(inputs) - {f.name for f in fields(RunInputs)})
        if unknown or not {"dataset", "table", "revision", "ref", "fingerprint"} <= set(inputs):
            raise BadInput(f"{where} has malformed inputs", "read the run with the version of curate that wrote it")
        return cls(**{**d, "inputs": RunInputs(**inputs), "schema": RUN_SCHEMA})  # 1 → 2 → 3 → 4: fields added
