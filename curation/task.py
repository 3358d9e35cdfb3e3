"""The task of a dataset: what its last ingest made of the source, read back from that revision.

A task owns, per dataset: the layout and where its source lives, the label classes, whether labels are event
times (Nexar: clips labelled by time to the event), the clip geometry and other ingest options, which tables
exist (by role), the validation metric, and what a submission is. Everything outside ingest asks the task; only
ingest and this module name tables.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from curation.errors import BadInput, Fix, NotFound
from curation.tables.carry import last_ingest

SAMPLES, VIDEOS, FRAMES, TEST = "samples", "videos", "frames", "test"  # the roles of a dataset's tables
TABLE_NAMES = {SAMPLES: "clips", VIDEOS: "videos", FRAMES: "frames", TEST: "test"}  # the names ingest gives them


@dataclass(frozen=True)
class Task:
    dataset: str
    layout: str  # the ingest source kind: nexar | folders | manifest
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
        return "nexar-csv" if self.layout == "nexar" else None

    @property
    def export_format(self) -> str:
        """The source layout a curated revision is written back in (`curate export`)."""
        return {"qa": "qa-json", "nexar": "nexar-csv", "events": "events-csv"}.get(self.layout, "manifest-csv")

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
