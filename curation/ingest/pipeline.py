"""Ingest: a Source → probed videos → clips → frames decoded once into the cache → videos/frames/clips/test
tables. Bad videos become status rows; re-running on unchanged input writes nothing."""
from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field, replace

import pyarrow as pa
from curation.progress import progress_bar

from curation.bounds import MAX_SEED, whole
from curation.errors import BadInput, Fix, exception_line
from curation.ingest.clips import ClipConfig, LabelRule, frame_indices
from curation.frames.cache import FrameCache, FrameReader, file_signature, frame_id
from curation.frames.descriptors import keep_descriptors
from curation.ingest.parallel import LocalEngine, VideoJob
from curation.frames.video import DecodeError, Probe
from curation.ingest.layouts import Source, VideoEntry
from curation.ingest.splits import assign_folds, hold_out
from curation.tables.carry import Overlay, apply_overlay, discard, last_ingest, user_edits
from curation.tables.protocol import Display, TableSpec
from curation.tables.refs import check_name
from curation.workspace import Workspace


@dataclass(frozen=True)
class IngestOptions:
    clip: ClipConfig = ClipConfig()
    label_rule: str = "alert"
    val_fraction: float = 0.2
    test_fraction: float = 0.0  # class layouts: labelled videos held out as a test split (`curate evaluate`)
    folds: int = 0
    seed: int = 0
    frame_size: int = 256

    def __post_init__(self):
        """Options are checked before any video is touched (a bad one never shows up as corrupt videos)."""
        if not (isinstance(self.frame_size, int) and 16 <= self.frame_size <= 4096):
            raise BadInput(f"frame size {self.frame_size!r} is invalid", "use 16 to 4096 pixels (default 256)")
        if not whole(self.seed, 0, MAX_SEED):
            raise BadInput(f"seed {self.seed!r} is invalid", f"use a whole number from 0 to {MAX_SEED}")
        LabelRule.parse(self.label_rule)
        if self.folds:
            assign_folds([], [], self.folds, 0)
        for fraction in (self.val_fraction, self.test_fraction, self.val_fraction + self.test_fraction):
            hold_out([], [], fraction, 0)

    @classmethod
    def from_dict(cls, d: dict) -> "IngestOptions":
        return cls(**{**d, "clip": ClipConfig(**d["clip"])})

    def to_dict(self) -> dict:
        return {"clip": self.clip.to_dict(), "label_rule": self.label_rule, "val_fraction": self.val_fraction,
                "test_fraction": self.test_fraction, "folds": self.folds, "seed": self.seed,
                "frame_size": self.frame_size}


@dataclass
class IngestResult:
    dataset: str
    unchanged: bool
    revisions: dict[str, int] = field(default_factory=dict)  # table → revision number
    status: dict[str, int] = field(default_factory=dict)  # ok/corrupt/missing/unsupported/invalid → count
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (video_id, status, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (video_id, reason) of usable videos
    timelines: list[tuple[str, str]] = field(default_factory=list)  # (video_id, what): frame k not at k / fps
    clips: dict[str, int] = field(default_factory=dict)  # split → count
    positives: dict[str, int] | None = None  # split → positive clips; None where labels are classes, not times
    frames_decoded: int = 0
    seconds: float = 0.0
    carried: dict[str, dict] = field(default_factory=dict)  # table → what happened to the user's edits


def _last_ingest_state(store, dataset: str) -> dict | None:
    """What the last complete ingest of `dataset` recorded (None if a table lacks it, or none was made)."""
    states = []
    for name in ("videos", "frames", "clips"):
        revision = last_ingest(store, dataset, name) if store.exists(dataset, name) else None
        if revision is None:
            return None
        states.append(revision.meta["ingest"])
    same = all(s.get("fingerprint") == states[0].get("fingerprint") for s in states)
    return states[0] if same and "summary" in states[0] else None


def _cache_complete(store, dataset: str, cache: FrameCache) -> bool:
    """Every ok video of the registered videos table still has its frames in the cache."""
    videos = store.read(store.head(dataset, "videos"), ["video_id", "status"]).to_pylist()
    cached = cache.cached_videos()
    return all(v["video_id"] in cached for v in videos if v["status"] == "ok")


def _fingerprint(source: Source, options: IngestOptions, retimed: dict) -> str:
    h = hashlib.sha256()
    settings = {"kind": source.kind, "options": options.to_dict(), "params": source.params}
    if retimed:  # only then: fingerprints of datasets without retimes stay what earlier versions wrote
        settings["retimed"] = retimed
    h.update(json.dumps(settings, sort_keys=True).encode())
    for f in source.input_files:
        h.update(f.read_bytes())
    for v in source.videos:
        p = source.root / v.path
        h.update(f"{v.video_id}|{v.path}|{file_signature(p) if p.exists() else 'missing'}\n".encode())
    return h.hexdigest()


def _carried_times(store, dataset: str, discard_edits: bool) -> dict[str, list[list[float]]]:
    """The user's retimes in effect on the dataset's videos (none for a new dataset, or when discarded)."""
    if discard_edits or not store.exists(dataset, "videos"):
        return {}
    return user_edits(store, dataset, "videos").times


def _retimed(source: Source, carried: dict, asked: dict) -> tuple[Source, dict, list[str]]:
    """(the source with the user's retimes applied in order, the retimes applied, the videos whose carried
    retime no longer applies). A carried retime whose old time the source no longer has is reported, not
    applied; an asked one is refused."""
    entries = {v.video_id: v for v in source.videos}
    applied: dict[str, list[list[float]]] = {}
    gone = []
    moves = [(v, m, False) for v, ms in carried.items() for m in ms] + \
            [(v, m, True) for v, ms in asked.items() for m in ms]
    for video, (old, new), asked_now in moves:
        entry = entries.get(video)
        moved = source.layout.retime(entry, float(old), float(new)) if entry else None
        if moved is None:
            if asked_now:
                raise BadInput(f"video {video} has no labelled time at {float(old):g} s" if entry else
                               f"unknown video {video} in dataset's source", "give a video's labelled time to move")
            gone.append(video)
            continue
        entries[video] = moved
        applied.setdefault(video, []).append([round(float(old), 4), round(float(new), 4)])
    return replace(source, videos=[entries[v.video_id] for v in source.videos]), applied, sorted(set(gone))


def source_changed(workspace: Workspace, source: Source, dataset: str, options: IngestOptions) -> bool:
    """Whether ingesting `source` now would register anything new (its files, settings or the user's retimes
    differ from the dataset's last ingest)."""
    store = workspace.tables
    last = _last_ingest_state(store, dataset)
    _, applied, _ = _retimed(source, _carried_times(store, dataset, False), {})
    return not last or last["fingerprint"] != _fingerprint(source, options, applied)


def _assign_splits(source: Source, options: IngestOptions) -> dict[str, int]:
    """Fill in train/val (and test, with a test fraction) for videos without a given split, grouped and
    stratified; returns video_id → fold (-1 without folds)."""
    free = [v for v in source.videos if v.split is None]
    val_fraction = options.val_fraction
    if options.test_fraction:
        test_groups = hold_out([v.group for v in free], [v.label for v in free], options.test_fraction,
                               options.seed + 1)
        for v in free:
            v.split = "test" if v.group in test_groups else None
        free = [v for v in free if v.split is None]
        val_fraction = options.val_fraction / (1 - options.test_fraction)  # a share of all videos, as asked
    groups, labels = [v.group for v in free], [v.label for v in free]
    folds: dict[str, int] = {}
    if options.folds:
        by_group = assign_folds(groups, labels, options.folds, options.seed)
        for v in free:
            folds[v.video_id] = by_group[v.group]
            v.split = "val" if by_group[v.group] == 0 else "train"  # fold 0 is the default val split
    else:
        val_groups = hold_out(groups, labels, val_fraction, options.seed)
        for v in free:
            v.split = "val" if v.group in val_groups else "train"
    return folds


def _fits(v: VideoEntry, probe: Probe, clip: ClipConfig, source: Source) -> Probe:
    """A readable video whose labels or segment do not fit it gets the status `invalid` with the reason instead
    of clips (an event past the end would label every clip negative). A single frame is not a video. What a video
    shorter than one clip becomes is its layout's rule (`Layout.too_short`)."""
    if probe.status != "ok":
        return probe
    timeline = probe.timeline
    end_s, step = timeline.duration_s, timeline.frame_step_s
    for name, t in (("event", v.event_s), ("alert", v.alert_s)):
        if t is not None and t > end_s + step:
            return replace(probe, status="invalid", reason=f"the {name} time {t:g} s is after the video's end "
                                                           f"({end_s:.2f} s)")
    if v.events and v.events[-1] > end_s + step:
        return replace(probe, status="invalid", reason=f"the event at {v.events[-1]:g} s is after the video's end "
                                                       f"({end_s:.2f} s)")
    if v.start_s is not None and v.start_s >= end_s:
        return replace(probe, status="invalid", reason=f"the segment starts at {v.start_s:g} s, after the "
                                                       f"video's end ({end_s:.2f} s)")
    if probe.n_frames < 2:
        return replace(probe, status="unsupported", reason="a single frame, not a video")
    first = timeline.nearest(v.start_s or 0)
    last = timeline.last_before(v.end_s) if v.end_s is not None else probe.n_frames - 1
    span = (clip.n_frames - 1) * clip.stride_for(probe.fps) + 1
    if last - first + 1 >= span:
        return probe
    return source.layout.too_short(probe, f"{last - first + 1} frames, shorter than one clip ({clip.n_frames} "
                                          f"frames spanning {span})")


CLIP_SCHEMA = pa.schema([
    ("clip_id", pa.string()), ("video_id", pa.string()), ("split", pa.string()), ("fold", pa.int32()),
    ("end_frame", pa.int32()), ("stride", pa.int32()), ("n_frames", pa.int32()), ("end_time_s", pa.float32()),
    ("time_to_event_s", pa.float32()), ("label", pa.int32()), ("weight", pa.float32()),
    ("eval_window", pa.string()),
])
FRAME_SCHEMA = pa.schema([("frame_id", pa.string()), ("video_id", pa.string()), ("index", pa.int32()),
                          ("time_s", pa.float32()), ("split", pa.string())])


def _video_schema(source: Source) -> pa.Schema:
    fields = [("video_id", pa.string()), ("path", pa.string()), ("split", pa.string()), ("fold", pa.int32()),
              ("fps", pa.float32()), ("n_frames", pa.int32()), ("width", pa.int32()), ("height", pa.int32()),
              ("duration_s", pa.float32()), ("mean_fps", pa.float32()), ("vfr", pa.bool_()),
              ("frame_times_s", pa.list_(pa.float64())), ("status", pa.string()), ("status_reason", pa.string()),
              (source.label_column, pa.int32()), ("weight", pa.float32())]
    return pa.schema(fields + source.layout.video_columns())


def table_specs(dataset: str, source: Source) -> dict[str, TableSpec]:
    clips = dict(id_column="clip_id", label_column="label", weight_column="weight", classes=source.classes,
                 parent={"table": "videos", "key": "video_id"})
    return {
        "videos": TableSpec(dataset, "videos", "videos", "video_id", source.label_column, "weight",
                            source.classes, description=f"videos of a {source.kind} dataset"),
        "frames": TableSpec(dataset, "frames", "frames", "frame_id", parent={"table": "videos", "key": "video_id"},
                            description="frames decoded into the frame cache"),
        "clips": TableSpec(dataset, "clips", "clips", description="training and validation clips", **clips),
        "test": TableSpec(dataset, "test", "test", description="clips of test videos", **clips),
    }


def ingest(workspace: Workspace, source: Source, dataset: str, options: IngestOptions = IngestOptions(),
           progress: bool = True, discard_edits: bool = False, workers: int | None = None,
           engine=None, retimes: dict[str, list[tuple[float, float]]] | None = None,
           message: str | None = None) -> IngestResult:
    """Register `source` as tables of `dataset` in `workspace` (new revisions only if the input changed).
    `engine` probes the videos and decodes their frames into the cache: by default `LocalEngine(workers)`,
    processes on this machine (one per core without `workers`); `ray_engine.RayEngine` spreads it over a Ray
    cluster. The tables do not depend on the engine.

    A re-ingest carries the user's edits made since the last ingest forward by id (tables/carry.py) and
    reports what it carried and what no longer applies; `discard_edits` registers the source as it is.
    `retimes` (video_id → [(old, new) seconds]) move labelled times before clips are derived (ingest.retime);
    they are carried like every other edit. `message` names the revisions instead of "re-ingest of ..."."""
    check_name("dataset", dataset)
    if source.event_task and options.test_fraction:
        raise BadInput(f"the {source.kind} layout has its own test videos",
                       Fix("hold out a validation fraction only", "no_test_split"))
    engine = engine or LocalEngine(workers)  # its settings are checked before anything is written
    cache = FrameCache(workspace.cache(dataset), size=options.frame_size)
    with cache.lock():
        return _ingest(workspace, source, dataset, options, progress, discard_edits, cache, engine, retimes or {},
                       message)


def _ingest(workspace: Workspace, source: Source, dataset: str, options: IngestOptions, progress: bool,
            discard_edits: bool, cache: FrameCache, engine, retimes: dict, message: str | None) -> IngestResult:
    started = time.time()
    rule = LabelRule.parse(options.label_rule)
    store = workspace.tables
    source, retimed, retimes_gone = _retimed(source, _carried_times(store, dataset, discard_edits), retimes)
    fp = _fingerprint(source, options, retimed)
    last = _last_ingest_state(store, dataset)
    if last and last["fingerprint"] == fp and not discard_edits and _cache_complete(store, dataset, cache):
        result = IngestResult(dataset, unchanged=True, **{**last["summary"], "frames_decoded": 0})
        result.revisions = {s.name: store.head(dataset, s.name).number for s in store.list_tables()
                            if s.dataset == dataset}
        workspace.set_dataset(dataset)
        return result

    folds = _assign_splits(source, options)
    with engine:
        probes = {}
        found = engine.probe([source.root / v.path for v in source.videos])
        for v, probe in zip(source.videos, progress_bar(found, total=len(source.videos), desc="probing videos",
                                                        unit="video", show=progress)):
            probes[v.video_id] = _fits(v, probe, options.clip, source)
        clips: dict[str, list[dict]] = {}
        for v in source.videos:
            if probes[v.video_id].status == "ok":
                clips[v.video_id] = source.layout.clips(v, probes[v.video_id], options, rule, source.params,
                                                        folds.get(v.video_id, -1))
        needed = {vid: sorted({i for c in rows for i in frame_indices(c["end_frame"], c["stride"], c["n_frames"])})
                  for vid, rows in clips.items()}
        decoded = _fill_cache(cache, source, needed, probes, engine, progress)

    videos_rows, frame_rows = [], []
    for v in source.videos:
        p = probes[v.video_id]
        row = {"video_id": v.video_id, "path": v.path, "split": v.split, "fold": folds.get(v.video_id, -1),
               "fps": p.fps or None, "n_frames": p.n_frames or None, "width": p.width or None,
               "height": p.height or None, "duration_s": p.duration_s or None, "mean_fps": p.timeline.mean_fps or None,
               "vfr": p.timeline.variable if p.status == "ok" else None, "frame_times_s": p.times, "status": p.status,
               "status_reason": p.reason, source.label_column: v.label, "weight": v.weight,
               **source.layout.video_values(v)}
        videos_rows.append(row)
        if p.status == "ok":
            frame_rows += [{"frame_id": frame_id(v.video_id, i), "video_id": v.video_id, "index": i,
                            "time_s": p.timeline.time_of(i), "split": v.split} for i in needed[v.video_id]]
    all_clips = [c for v in source.videos if probes[v.video_id].status == "ok" for c in clips[v.video_id]]
    test_split = "test" if source.event_task else None  # Nexar's unlabelled test videos get their own table
    clip_schema = pa.schema(list(CLIP_SCHEMA) + [(c, pa.string()) for c in source.layout.extra_columns])
    data = {
        "videos": pa.Table.from_pylist(videos_rows, schema=_video_schema(source)),
        "frames": pa.Table.from_pylist(frame_rows, schema=FRAME_SCHEMA),
        "clips": pa.Table.from_pylist([c for c in all_clips if c["split"] != test_split], schema=clip_schema),
        "test": pa.Table.from_pylist([c for c in all_clips if c["split"] == test_split], schema=clip_schema),
    }
    if test_split is None:
        del data["test"]

    specs = table_specs(dataset, source)
    result = IngestResult(dataset, unchanged=False, frames_decoded=decoded)
    result.status = dict(Counter(p.status for p in probes.values()))
    result.problems = sorted((vid, p.status, p.reason) for vid, p in probes.items() if p.status != "ok")
    result.warnings = sorted((vid, p.reason) for vid, p in probes.items() if p.status == "ok" and p.reason)
    result.timelines = sorted((vid, what) for vid, p in probes.items() if p.status == "ok"
                              for what in p.timeline.findings())
    result.clips = dict(Counter(c["split"] for c in all_clips))
    if source.layout.times_are_labels:  # positive: near an event; other datasets' labels are classes
        result.positives = dict(Counter(c["split"] for c in all_clips if c["label"]))
    summary = {k: getattr(result, k)
               for k in ("status", "problems", "warnings", "timelines", "clips", "positives", "frames_decoded")}
    # The ingest state lives in the revisions it writes (curation.task reads it back), in every table: an ingest
    # killed between tables leaves some without this fingerprint, so the next one does not count as unchanged.
    meta = {"ingest": {"kind": source.kind, "event_task": source.event_task, "root": str(source.root),
                       "reader": source.reader, "options": options.to_dict(), "params": source.params,
                       "label_rule": str(rule),
                       "fingerprint": fp,
                       "summary": summary}}
    display = Display(video_root=str(source.root), frame_jpegs=lambda ids: FrameReader(cache.storage).read(ids))
    for name, table in data.items():
        if store.exists(dataset, name):
            overlay = user_edits(store, dataset, name)
            if discard_edits:
                carried, report = Overlay(), discard(overlay)
            else:
                table, carried, report = apply_overlay(store.spec(dataset, name), overlay, table)
            if name == "videos":  # the retimes live with the videos, whose times they move
                carried.times, report.gone = retimed, sorted(set(report.gone) | set(retimes_gone))
            result.carried[name] = report.to_dict()
            note = "; your edits discarded" if report.discarded else \
                f"; carried {report.carried()} edited row(s)" if report.carried() else ""
            rev = store.replace(dataset, name, table, message=message or f"re-ingest of {source.root}{note}",
                                meta={**meta, "carried": carried.to_dict(), "carry": report.to_dict()}, display=display)
        else:
            carried = Overlay(times=retimed)  # retimes asked for at the first ingest are the user's too
            rev = store.create(specs[name], table, message=message or f"ingest of {source.root}",
                               meta={**meta, "carried": carried.to_dict()} if retimed else meta, display=display)
        result.revisions[name] = rev.number
    frames = data["frames"]  # what suggest's frame signals compare, computed once
    keep_descriptors(cache, frames["video_id"].unique().to_pylist(), lambda todo: frames)
    result.seconds = round(time.time() - started, 2)
    workspace.set_dataset(dataset)
    return result


def _fill_cache(cache: FrameCache, source: Source, needed: dict[str, list[int]], probes: dict[str, Probe],
                engine, progress: bool) -> int:
    """Decode the frames each video needs, once; a video that fails to decode is marked corrupt."""
    index = cache.cached_videos()
    jobs = []
    for v in source.videos:
        if v.video_id not in needed:
            continue
        sig = file_signature(source.root / v.path)
        entry = index.get(v.video_id)
        if not (entry and entry["signature"] == sig and entry["size"] == cache.size
                and set(needed[v.video_id]) <= set(entry["indices"])):
            jobs.append(VideoJob(v.video_id, source.root / v.path, tuple(needed[v.video_id]), sig))
    cache.forget(job.video_id for job in jobs)
    jobs.sort(key=lambda job: -job.indices[-1])  # longest decode first: no worker is left alone with a long one
    decoded = 0
    with progress_bar(total=sum(len(j.indices) for j in jobs), desc="decoding frames", unit="frame",
                      show=progress) as bar:
        for job, outcome in engine.fill(cache, jobs):
            if isinstance(outcome, DecodeError):  # a broken file is recorded, never fatal
                probes[job.video_id] = Probe("corrupt", f"decode failed: {exception_line(outcome)}")
                del needed[job.video_id]
            else:
                decoded += outcome
            bar.update(len(job.indices))
    return decoded
