"""`curate export`: a curated revision of a dataset's samples table written back in its source layout, so the
curation reaches tools outside curate (another trainer, a VLM fine-tune, a competition kit).

What a layout can say: deleted samples are gone in all of them; a QA answer and a class label follow the
revision's label (a relabel is applied); samples at weight 0 (excluded from training) are left out too. Clip-level
curation inside a video has no place in a video-level file (Nexar, manifest, events): a video is kept while any of
its clips is; Nexar's target and event times and an events video's event times, group and split come from the
videos table, so relabeled clips of those layouts are named in a note, not written.
"""
from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from curation.errors import BadInput
from curation.fsutil import output_target, write_output
from curation.tables.carry import last_ingest
from curation.task import SAMPLES, VIDEOS


@dataclass
class ExportResult:
    files: list[Path]
    samples: int  # rows written
    left_out: int  # samples of the revision at weight 0
    notes: list[str] = field(default_factory=list)  # what the format could not say


def export(ws, ref: str, out: str | Path, fmt: str | None = None) -> ExportResult:
    """Write the samples of revision `ref` to `out` in `fmt` (default: the dataset's own layout)."""
    revision = ws.resolve(ref)
    task = ws.task(revision.dataset)
    if revision.table != task.table(SAMPLES):
        raise BadInput(f"{revision.ref} is not the samples table of {task.dataset}",
                       f"export {task.dataset}/{task.table(SAMPLES)} (or a revision or tag of it)")
    fmt = fmt or task.export_format
    if fmt not in WRITERS:
        raise BadInput(f"unknown export format {fmt!r}", f"use one of {', '.join(WRITERS)}")
    if FORMAT_LAYOUT.get(fmt, task.layout) != task.layout:
        raise BadInput(f"a {task.layout} dataset cannot be written as {fmt}",
                       f"use {' or '.join(sorted({task.export_format, 'manifest-csv'}))}")
    samples = ws.tables.read(revision).sort_by("clip_id").to_pylist()
    kept = [s for s in samples if s["weight"] != 0]
    videos = {v["video_id"]: v for v in ws.tables.read(task.head(ws.tables, VIDEOS)).to_pylist()}
    out = Path(out)
    output_target(out)  # refused before anything is written
    files = WRITERS[fmt](task, kept, videos, out)
    notes = []
    if lost := _labels_not_written(ws, revision, kept, fmt):
        shown = ", ".join(lost[:3]) + (" …" if len(lost) > 3 else "")
        how = "by their event times" if fmt in FORMAT_LAYOUT else "(each by its clips' most common label)"
        notes.append(f"the label of {len(lost)} clip(s) ({shown}) is not in the file: {fmt} labels whole videos "
                     + how)
    return ExportResult(files, len(kept), len(samples) - len(kept), notes)


def _labels_not_written(ws, revision, kept: list[dict], fmt: str) -> list[str]:
    """Kept clips whose label the video-level file cannot carry: in a manifest, those that disagree with their
    video's written label; in Nexar and events files, those relabeled since the last ingest."""
    if fmt == "manifest-csv":
        written = _video_labels(kept)
        return [s["clip_id"] for s in kept if s["label"] != written[s["video_id"]]]
    base = last_ingest(ws.tables, revision.dataset, revision.table)
    if fmt == "qa-json" or base is None or base.number == revision.number:
        return []
    source = dict(zip(*ws.tables.read(base, ["clip_id", "label"]).to_pydict().values()))
    return [s["clip_id"] for s in kept if s["clip_id"] in source and source[s["clip_id"]] != s["label"]]


def _write(path: Path, text: str) -> Path:
    return write_output(path, text.encode())


def _qa_json(task, samples: list[dict], videos: dict, out: Path) -> list[Path]:
    """The QA layout: labelled questions to `out`, unanswered (test) ones to `<out stem>-test.json`."""
    labelled, test = [], []
    for s in samples:
        choices = json.loads(s["choices"])
        item = {"id": s["clip_id"], "question": s["question"], "choices": choices,
                "support_frames": json.loads(s["support_frames"]), "video_path": s["video_path"]}
        if s["label"] is not None:
            letter = task.classes[s["label"]]
            item["answer"] = next((c for c in choices if c.strip().upper().startswith(letter)), letter)
        (test if s["split"] == "test" else labelled).append(item)
    files = [_write(out, json.dumps({"data": labelled}, ensure_ascii=False, indent=1))]
    if test:
        files.append(_write(out.with_name(f"{out.stem}-test{out.suffix}"),
                            json.dumps({"data": test}, ensure_ascii=False, indent=1)))
    return files


def _kept_videos(samples: list[dict]) -> dict[str, Counter]:
    """video_id → how often each label occurs among its kept clips."""
    kept: dict[str, Counter] = {}
    for s in samples:
        kept.setdefault(s["video_id"], Counter())[s["label"]] += 1
    return kept


def _video_labels(samples: list[dict]) -> dict[str, int | None]:
    """video_id → the label a video-level file gives the video: its kept clips' most common label."""
    return {video: labels.most_common(1)[0][0] for video, labels in _kept_videos(samples).items()}


def _relative_path(task, video: dict, out: Path) -> str:
    """A video's path relative to the folder of the file written, as the layouts read paths back."""
    return Path(os.path.relpath(Path(task.root) / video["path"], out.resolve().parent)).as_posix()


def _csv(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _manifest_csv(task, samples: list[dict], videos: dict, out: Path) -> list[Path]:
    """path,label,split,start_s,end_s: one row per kept video (its clips' most common label), paths relative to
    the manifest's folder."""
    rows = []
    for video_id, label in sorted(_video_labels(samples).items()):
        v = videos[video_id]
        rows.append([_relative_path(task, v, out), "" if label is None else task.classes[label], v["split"] or "",
                     _num(v.get("start_s")), _num(v.get("end_s"))])
    return [_write(out, _csv(["path", "label", "split", "start_s", "end_s"], rows))]


def _nexar_csv(task, samples: list[dict], videos: dict, out: Path) -> list[Path]:
    """train.csv (id,time_of_event,time_of_alert,target) of the kept labelled videos."""
    kept = _kept_videos(samples)
    rows = [[vid, _num(v.get("time_of_event")), _num(v.get("time_of_alert")), v["target"]]
            for vid, v in sorted(videos.items()) if vid in kept and v["split"] != "test"]
    return [_write(out, _csv(["id", "time_of_event", "time_of_alert", "target"], rows))]


def _events_csv(task, samples: list[dict], videos: dict, out: Path) -> list[Path]:
    """path,group,split,event_s: a row per event of each kept video (one with an empty event_s for a video
    without events), paths relative to the CSV's folder; `curate ingest events` reads it back."""
    rows = []
    for video_id in sorted(_kept_videos(samples)):
        v = videos[video_id]
        path = _relative_path(task, v, out)
        events = json.loads(v["events"] or "[]")
        rows += [[path, v["group"], v["split"] or "", _num(t)] for t in events] or \
            [[path, v["group"], v["split"] or "", ""]]
    return [_write(out, _csv(["path", "group", "split", "event_s"], rows))]


def _num(value) -> str:
    return "" if value is None else f"{value:g}"


WRITERS = {"qa-json": _qa_json, "manifest-csv": _manifest_csv, "nexar-csv": _nexar_csv, "events-csv": _events_csv}
FORMAT_LAYOUT = {"qa-json": "qa", "nexar-csv": "nexar", "events-csv": "events"}  # the formats only one layout has

