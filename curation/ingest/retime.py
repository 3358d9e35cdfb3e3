"""Moving a labelled event time: a video's event (Nexar: its event and alert together) moved from one time to
another, and the dataset re-derived from its source with the move applied — a new videos revision with the new
time, its clips relabelled and re-cut, any frames they need decoded. The move is the user's edit: it is carried
through every later re-ingest, as deletes, weights and relabels are (tables/carry.py)."""
from __future__ import annotations

from curation.errors import BadInput
from curation.ingest.layouts import LAYOUTS, Source, read_events, read_nexar
from curation.ingest.layouts.base import TIME_MATCH_S
from curation.ingest.pipeline import IngestOptions, IngestResult, ingest, source_changed
from curation.tables.carry import last_ingest


def _read_activitynet(path: str, **args) -> Source:
    from curation.interop.activitynet import read_activitynet

    return read_activitynet(path, **args)


READERS = {"nexar": read_nexar, "events": read_events, "activitynet-json": _read_activitynet}


def reread(reader: dict) -> Source:
    """The source an ingest recorded it read (`Source.reader`), read again from its files."""
    return READERS[reader["name"]](reader["path"], **reader.get("args", {}))


def retime(ws, dataset: str, moves: dict[str, list[tuple[float | None, float]]], message: str | None = None,
           progress: bool = False, workers: int | None = None) -> IngestResult:
    """Move labelled times, `moves`: video_id → [(old, new) seconds; old None for the video's only time]; one
    revision of each table. `workers`: the ingest's worker processes (default one per core)."""
    resolved, reader, options = check_moves(ws, dataset, moves)
    source = reread(reader)
    if source_changed(ws, source, dataset, options):
        raise BadInput(f"the source of dataset {dataset} changed since its last ingest",
                       "ingest it again first, then move its times")
    count = sum(len(p) for p in resolved.values())
    return ingest(ws, source, dataset, options, progress=progress, workers=workers, retimes=resolved,
                  message=message or f"retime of {count} labelled time(s) in {len(resolved)} video(s)")


def check_moves(ws, dataset: str, moves: dict[str, list[tuple[float | None, float]]]
                ) -> tuple[dict[str, list[tuple[float, float]]], dict, IngestOptions]:
    """The moves with every old time filled in, the recorded source reader and the ingest's options; refused
    (nothing written) for a dataset that labels classes, an unknown video, a time outside its video, or a
    dataset ingested without a record of how to read its source, an old time the video is not labelled with."""
    task = ws.task(dataset)
    layout = LAYOUTS[task.layout]
    if not layout.times_are_labels:
        raise BadInput(f"dataset {dataset} labels classes, not times ({task.layout} layout)",
                       "move event times of an events or Nexar dataset")
    if not moves or not any(moves.values()):
        raise BadInput("no times to move", "give a video, its labelled time and the new one")
    state = last_ingest(ws.tables, dataset, "videos").meta["ingest"]
    if not state.get("reader") or state["reader"].get("name") not in READERS:
        raise BadInput(f"dataset {dataset} was ingested by a version that did not record how to read its source "
                       "again", "ingest its source again once, then move its times")
    videos = {v["video_id"]: v for v in ws.tables.read(ws.tables.head(dataset, "videos")).to_pylist()}
    resolved = {}
    for video, pairs in moves.items():
        row = videos.get(video)
        if row is None:
            raise BadInput(f"unknown video {video} in dataset {dataset}", "give ids of the dataset's videos")
        resolved[video] = [(_only_time(layout, row) if old is None else old, new) for old, new in pairs]
        labelled = layout.labelled_times(row) or []
        for old, _ in resolved[video]:
            if not any(abs(t - old) <= TIME_MATCH_S for t in labelled):
                raise BadInput(f"video {video} has no labelled time at {old:g} s",
                               "give a video's labelled time to move")
        for _, new in pairs:
            if not 0 <= new <= (row.get("duration_s") or float("inf")):
                raise BadInput(f"video {video}: {new:g} s is outside the video (0 to {row['duration_s']:.2f} s)",
                               "give a time within the video")
    return resolved, state["reader"], IngestOptions.from_dict(state["options"])


def _only_time(layout, row: dict) -> float:
    """The labelled time a retime without an old time moves: the video's only one."""
    times = layout.labelled_times(row) or []
    if len(times) != 1:
        raise BadInput(f"video {row['video_id']} has {len(times)} labelled times, so which one moves is unclear",
                       "give the time to move and the new one, OLD:NEW")
    return times[0]
