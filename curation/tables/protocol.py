"""The table-store protocol: what every backend (lance, 3lc) offers, and the records they exchange."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Protocol, runtime_checkable

import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class Display:
    """What a viewer shows beside a table's data, handed over by whoever writes it (ingest), so that no backend
    reaches into ingest or the workspace: the folder a videos table's `path`s are relative to, and the frames of a
    frames table as JPEG bytes by frame_id. A backend that has nothing to show (lance) ignores it."""

    video_root: str | None = None
    frame_jpegs: Callable[[list[str]], list[bytes]] | None = None


@dataclass(frozen=True)
class TableSpec:
    """What a table is: its name, its id column and which columns carry label and weight."""

    dataset: str
    name: str
    kind: str  # videos | frames | clips | test | other
    id_column: str
    label_column: str | None = None
    weight_column: str | None = None
    classes: list[str] | None = None  # label names, indexed by the integer label
    parent: dict | None = None  # {"table": "videos", "key": "video_id"}: rows belong to a parent row
    description: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.dataset}/{self.name}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TableSpec":
        return cls(**{k: d.get(k) for k in cls.__dataclass_fields__ if k in d})


@dataclass(frozen=True)
class Revision:
    """One immutable state of a table."""

    dataset: str
    table: str
    number: int
    parent: int | None
    created: str  # ISO-8601 UTC
    message: str
    op: str  # create | edit | revert | replace
    rows: int
    fingerprint: str  # content hash of ids, weights and labels
    counts: dict = field(default_factory=dict)  # deleted / reweighted / relabeled
    meta: dict = field(default_factory=dict)  # backend locator and free-form provenance

    @property
    def ref(self) -> str:
        return f"{self.dataset}/{self.table}@{self.number}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Revision":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class Edit:
    """Per-id operations applied together as one revision."""

    delete: set[str] = field(default_factory=set)
    weights: dict[str, float] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)
    # Video-level requests behind the per-id operations ({video_id: {"action", "value"}}), recorded in the
    # revision so that a re-ingest applies them to the video's new rows too (tables/carry.py).
    videos: dict[str, dict] = field(default_factory=dict)
    author: str = ""  # who made it, recorded in the revision's meta (commit.commit_edit fills it in)

    def ids(self) -> set[str]:
        return set(self.delete) | set(self.weights) | set(self.labels)

    def is_empty(self) -> bool:
        return not (self.delete or self.weights or self.labels)


@runtime_checkable
class TableStore(Protocol):
    """Versioned tables keyed by a stable id. Revisions are numbered 1, 2, … per table."""

    def list_tables(self) -> list[TableSpec]: ...

    def spec(self, dataset: str, name: str) -> TableSpec: ...

    def exists(self, dataset: str, name: str) -> bool: ...

    def create(self, spec: TableSpec, data: pa.Table, *, message: str, meta: dict | None = None,
               display: Display | None = None) -> Revision:
        """Register a new table as revision 1."""

    def replace(self, dataset: str, name: str, data: pa.Table, *, message: str, meta: dict | None = None,
                display: Display | None = None) -> Revision:
        """A new revision whose content is `data` (used by re-ingest)."""

    def revisions(self, dataset: str, name: str) -> list[Revision]:
        """All revisions, oldest first."""

    def head(self, dataset: str, name: str) -> Revision: ...

    def revision(self, dataset: str, name: str, number: int) -> Revision: ...

    def read(self, revision: Revision, columns: list[str] | None = None,
             where: pc.Expression | None = None) -> pa.Table:
        """Exactly the rows the revision had; with `where` (an Arrow expression, e.g. `pc.field("video_id") ==
        v`), only those it selects, filtered where the rows are stored when the backend can (Lance: by its
        scalar indexes on the id and parent columns, reading only the fragments that hold them)."""

    def edit(self, dataset: str, name: str, edit: Edit, *, message: str, base: int | None = None,
             rebase: bool = False) -> Revision:
        """Apply `edit` as one new revision. With `base`, refuse (Conflict) if head moved past it,
        unless `rebase` re-applies the edit on the new head."""

    def revert(self, dataset: str, name: str, to: int, *, message: str) -> Revision:
        """A new revision whose content equals revision `to` (the head itself when `to` is the head)."""

    def tags(self, dataset: str, name: str) -> dict[str, int]: ...

    def set_tag(self, dataset: str, name: str, tag: str, number: int, *, force: bool = False) -> None: ...
