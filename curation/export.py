"""`curate export`: a curated revision of a dataset's samples table written back in its source layout, so the
curation reaches tools outside curate (another trainer, a VLM fine-tune, a competition kit).

What a layout can say: deleted samples are gone in all of them; a QA answer and a class label follow the
revision's label (a relabel is applied); samples at weight 0 (excluded from training) are left out too. Clip-level
curation inside a video has no place in a video-level file (Nexar, manifest, events): a video is kept while any of
its clips is; Nexar's target and event times and an events video's event times, group and split come from the
videos table, so relabeled clips of those layouts are named in a note, not written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from curation.errors import BadInput
from curation.fsutil import output_target
from curation.ingest.layouts import LAYOUTS, Layout
from curation.ingest.layouts.base import video_labels
from curation.tables.carry import last_ingest
from curation.task import SAMPLES, VIDEOS

GENERIC = Layout.export_format  # the manifest CSV: any class dataset can be written as one


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
    layout = LAYOUTS[task.layout]
    fmt = fmt or layout.export_format
    formats = sorted({f.export_format for f in LAYOUTS.values()})
    if fmt not in formats:
        raise BadInput(f"unknown export format {fmt!r}", f"use one of {', '.join(formats)}")
    if fmt not in (layout.export_format, GENERIC):
        raise BadInput(f"a {task.layout} dataset cannot be written as {fmt}",
                       f"use {' or '.join(sorted({layout.export_format, GENERIC}))}")
    samples = ws.tables.read(revision).sort_by("clip_id").to_pylist()
    kept = [s for s in samples if s["weight"] != 0]
    videos = {v["video_id"]: v for v in ws.tables.read(task.head(ws.tables, VIDEOS)).to_pylist()}
    out = Path(out)
    output_target(out)  # refused before anything is written
    files = (layout if fmt == layout.export_format else Layout()).write(task, kept, videos, out)
    notes = []
    if lost := _labels_not_written(ws, revision, kept, fmt):
        shown = ", ".join(lost[:3]) + (" …" if len(lost) > 3 else "")
        how = "(each by its clips' most common label)" if fmt == GENERIC else "by their event times"
        notes.append(f"the label of {len(lost)} clip(s) ({shown}) is not in the file: {fmt} labels whole videos "
                     + how)
    return ExportResult(files, len(kept), len(samples) - len(kept), notes)


def _labels_not_written(ws, revision, kept: list[dict], fmt: str) -> list[str]:
    """Kept clips whose label the video-level file cannot carry: in a manifest, those that disagree with their
    video's written label; in Nexar and events files, those relabeled since the last ingest."""
    if fmt == GENERIC:
        written = video_labels(kept)
        return [s["clip_id"] for s in kept if s["label"] != written[s["video_id"]]]
    base = last_ingest(ws.tables, revision.dataset, revision.table)
    if fmt == "qa-json" or base is None or base.number == revision.number:
        return []
    source = dict(zip(*ws.tables.read(base, ["clip_id", "label"]).to_pydict().values()))
    return [s["clip_id"] for s in kept if s["clip_id"] in source and source[s["clip_id"]] != s["label"]]
