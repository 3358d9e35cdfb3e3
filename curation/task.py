"""The task of a dataset: what its last ingest made of the source, read back from that revision.

A task owns, per dataset: the layout and where its source lives, the label classes, whether labels are event
times (Nexar: clips labelled by time to the event), the clip geometry and other ingest options, which tables
exist (by role), the validation metric, and what a submission is. Everything outside ingest asks the task; only
ingest and this module name tables.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow.compute as pc

from curation.errors import BadInput, Fix, NotFound
from curation.ingest.layouts import LAYOUTS
from curation.tables.carry import last_ingest

SAMPLES, VIDEOS, FRAMES, TEST = "samples", "videos", "frames", "test"  # the roles of a dataset's tables
TABLE_NAMES = {SAMPLES: "clips", VIDEOS: "videos", FRAMES: "frames", TEST: "test"}  # the names ingest gives them


@dataclass(frozen=True)
class Task:
    dataset: str
    layout: str  # the ingest source's layout: a key of ingest.layouts.LAYOUTS
    classes: tuple[str, ...]
    event_task: bool  # labels are event (and alert) times: competition mAP over τ windows
    root: str  # the source folder, which video paths are relative to
    options: dict = field(default_factory=dict)  # IngestOptions.to_dict(): clip geometry, label rule, frame size
    tables: dict = field(default_factory=dict)  # role → table name, for the tables that exist

    @property
    def metric(self) -> str:
        """What validation reports and `best` follows: the competition's mAP, or accuracy for class tasks."""
        return "mAP" if self.event_task else "accuracy"

    @property
    def submission(self) -> str | None:
        """The competition file a run can be submitted as (`curate submit`), if the layout has one."""
        return LAYOUTS[self.layout].submission

    @property
    def export_format(self) -> str:
        """The source layout a curated revision is written back in (`curate export`)."""
        return LAYOUTS[self.layout].export_format

    @property
    def times_are_labels(self) -> bool:
        """Videos are labelled with event times (events, Nexar): `predict-events` finds and scores them."""
        return LAYOUTS[self.layout].times_are_labels

    @property
    def frame_size(self) -> int:
        return int(self.options.get("frame_size", 256))

    def has(self, role: str) -> bool:
        return role in self.tables

    def table(self, role: str) -> str:
        if role not in self.tables:
            raise NotFound(f"dataset {self.dataset} has no {role} table ({self.layout} layout)",
                           Fix("use a dataset whose layout has one", "list_tables"))
        return self.tables[role]

    def require(self, store, revision, roles: tuple[str, ...], purpose: str) -> None:
        """Refuse a revision of `store` whose table plays none of `roles` here (a frames table given to
        evaluate, say), naming the tables that would do."""
        if revision.table in {self.tables.get(r) for r in roles}:
            return
        kind = store.spec(revision.dataset, revision.table).kind
        names = " or ".join(f"{self.dataset}/{self.tables[r]}" for r in roles if r in self.tables)
        raise BadInput(f"{revision.ref} is a {kind} table; {purpose}", f"give {names} (or a revision or tag of it)")

    def head(self, store, role: str):
        return store.head(self.dataset, self.table(role))

    def ref(self, role: str, rev: str = "latest") -> str:
        return f"{self.dataset}/{self.table(role)}@{rev}"

    def videos_at(self, store, pinned: dict | None = None):
        """The videos revision a run pinned (`{"table", "revision"}` in its record), else the head (a new run, or
        one recorded before runs pinned it)."""
        if pinned:
            return store.revision(self.dataset, pinned["table"], pinned["revision"])
        return self.head(store, VIDEOS)

    # -- scoring: the one place a task's predictions are scored (train, evaluate, compare) ---------------
    @property
    def score_column(self) -> str:
        """The per-clip output the metric reads: the positive class's probability, or the predicted class."""
        return "prob" if self.event_task else "pred"

    def scored(self, where: pc.Expression | None) -> pc.Expression | None:
        """`where`, narrowed to the clips the metric scores: an event task scores its competition windows."""
        if not self.event_task:
            return where
        windows = pc.field("eval_window").is_valid()
        return windows if where is None else where & windows

    def targets(self, store, rows, videos) -> Targets:
        """The truth for clip `rows` (a table with label, video_id, eval_window): each clip's class, and for an
        event task its window and its video's target read from `videos`, the videos revision a run pinned (so
        a later edit of the videos table cannot move a run's score)."""
        labels = pc.fill_null(rows["label"], -1).to_numpy(zero_copy_only=False)
        if not self.event_task:
            return Targets(labels)
        label = store.spec(videos.dataset, videos.table).label_column
        table = store.read(videos, ["video_id", label])
        target_of = dict(zip(table["video_id"].to_pylist(), table[label].to_pylist()))
        return Targets(labels, np.array(rows["eval_window"].to_pylist(), dtype=object),
                       np.array([target_of.get(v) for v in rows["video_id"].to_pylist()], dtype=float))

    def score(self, targets: Targets, scores) -> dict:
        """The task's metrics of per-clip `scores` (its `score_column`) against `targets`: the competition's
        mAP over the τ windows of an event task, else accuracy, macro-F1, per-class accuracy and confusion."""
        from curation.metrics import classification_metrics, competition_map  # sklearn: when scoring

        if self.event_task:
            return competition_map(targets.video_targets, targets.windows, scores)
        return classification_metrics(targets.labels, scores, list(self.classes))

    def chance(self, targets: Targets) -> float | None:
        """The metric of a model that learned nothing: one constant score for every clip (an event task: the
        share of positives in each τ pool), or always the most common class."""
        if len(targets.labels) == 0:
            return None
        if self.event_task:
            constant = np.full(len(targets.labels), 0.5)
        else:
            known = targets.labels[targets.labels >= 0]
            constant = np.full(len(targets.labels), np.bincount(known).argmax() if len(known) else 0)
        value = self.score(targets, constant).get(self.metric)
        return None if value is None or not np.isfinite(value) else float(value)


@dataclass(frozen=True)
class Targets:
    """What a task scores predictions against, one entry per clip."""
    labels: np.ndarray  # class index
    windows: np.ndarray | None = None  # competition window (event tasks)
    video_targets: np.ndarray | None = None  # the clip's video's target (event tasks)

    def take(self, idx) -> Targets:
        pick = (lambda a: None if a is None else a[idx])
        return Targets(self.labels[idx], pick(self.windows), pick(self.video_targets))


def task_of(store, dataset: str) -> Task:
    """The task recorded by the last ingest of `dataset`."""
    task = find_task(store, dataset)
    if task is None:
        raise NotFound(f"dataset {dataset} was not ingested", Fix("ingest it first", "ingest"))
    return task


def find_task(store, dataset: str) -> Task | None:
    """The task of `dataset`, or None for tables that no ingest wrote."""
    if not store.exists(dataset, TABLE_NAMES[VIDEOS]):
        return None
    revision = last_ingest(store, dataset, TABLE_NAMES[VIDEOS])
    if revision is None:
        return None
    ingest = revision.meta["ingest"]
    spec = store.spec(dataset, TABLE_NAMES[VIDEOS])
    return Task(dataset=dataset, layout=ingest["kind"], classes=tuple(spec.classes or ()),
                event_task=ingest.get("event_task", ingest["kind"] == "nexar"), root=ingest["root"],
                options=ingest.get("options", {}),
                tables={role: name for role, name in TABLE_NAMES.items() if store.exists(dataset, name)})
