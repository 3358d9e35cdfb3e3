"""`curate export`: a curated revision of a dataset's samples table written back in its source layout, or for a
class-video dataset in an interchange format (curation/interop: class folders, Kinetics CSV, Hugging Face, FiftyOne),
so the curation reaches tools outside curate (another trainer, a VLM fine-tune, a competition kit).

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
from curation.fsutil import output_folder, output_target
from curation.ingest.layouts import LAYOUTS, Layout
from curation.ingest.layouts.base import video_labels
from curation.interop import FORMATS, Curated
from curation.tables.carry import last_ingest
from curation.task import SAMPLES, VIDEOS

GENERIC = Layout.export_format  # the manifest CSV: any class dataset can be written as one


@dataclass
class ExportResult:
    files: list[Path]
    samples: int  # rows written
    left_out: int  # samples of the revision at weight 0
    notes: list[str] = field(default_factory=list)  # what the format could not say


def export_formats() -> list[str]:
    """Every format `export` writes: the layouts' own and the interchange formats."""
    return sorted({f.export_format for f in LAYOUTS.values()} | set(FORMATS))


def export(ws, ref: str, out: str | Path, fmt: str | None = None, copy: bool = False,
           run: str | None = None) -> ExportResult:
    """Write the samples of revision `ref` to `out` in `fmt` (default: the dataset's own layout). Interchange
    formats that write a folder place the videos as links (`copy`: copies); `run` adds its per-clip metrics where
    the format has columns for them (hf, fiftyone)."""
    revision = ws.resolve(ref)
    task = ws.task(revision.dataset)
    if revision.table != task.table(SAMPLES):
        raise BadInput(f"{revision.ref} is not the samples table of {task.dataset}",
                       f"export {task.dataset}/{task.table(SAMPLES)} (or a revision or tag of it)")
    layout = LAYOUTS[task.layout]
    fmt = fmt or layout.export_format
    if fmt not in export_formats():
        raise BadInput(f"unknown export format {fmt!r}", f"use one of {', '.join(export_formats())}")
    can = sorted({layout.export_format, GENERIC} | {f.name for f in FORMATS.values() if f.holds(layout)})
    if fmt not in can:
        raise BadInput(f"a {task.layout} dataset cannot be written as {fmt}",
                       f"use {can[0]}" if len(can) == 1 else f"use one of {', '.join(can)}")
    if run is not None and not (fmt in FORMATS and FORMATS[fmt].metric_columns):
        with_room = " or ".join(sorted(f.name for f in FORMATS.values() if f.metric_columns))
        raise BadInput(f"{fmt} has no columns for a run's metrics", f"leave the run out, or write {with_room}")
    samples = ws.tables.read(revision).sort_by("clip_id").to_pylist()
    kept = [s for s in samples if s["weight"] != 0]
    videos = {v["video_id"]: v for v in ws.tables.read(task.head(ws.tables, VIDEOS)).to_pylist()}
    if fmt in FORMATS:
        return _export_interchange(ws, FORMATS[fmt], revision, task, kept, videos, out, copy, run,
                                   len(samples) - len(kept))
    out = Path(out)
    output_target(out)  # refused before anything is written
    files = (layout if fmt == layout.export_format else Layout()).write(task, kept, videos, out)
    by = "votes" if fmt == GENERIC else None if layout.one_clip_each else "times"  # QA's file holds every label
    notes = (_lost_labels(ws, revision, kept, fmt, by) if by else []) + _lost_weights(kept, fmt)
    return ExportResult(files, len(kept), len(samples) - len(kept), notes)


def _export_interchange(ws, fmt, revision, task, kept, videos, out, copy, run, left_out) -> ExportResult:
    metrics = {}
    if run is not None:
        from curation.review.metrics import clip_metrics

        run = ws.runs.resolve(run)
        metrics = {r.pop("clip_id"): r for r in clip_metrics(ws, run).to_pylist()}
    curated = Curated(task, revision.ref, revision.fingerprint, kept, videos, metrics, run)
    if fmt.video_labels:
        curated.notes += _lost_labels(ws, revision, kept, fmt.name, fmt.video_labels)
    if not fmt.weights:
        curated.notes += _lost_weights(kept, fmt.name)
    if fmt.folder:
        with output_folder(out) as staging:
            files = fmt.write(curated, staging, copy)
        files = [Path(out) / f.relative_to(staging) for f in files]
    else:
        output_target(out)
        files = fmt.write(curated, Path(out), copy)
    return ExportResult(files, len(kept), left_out, curated.notes)


def _lost_weights(kept: list[dict], fmt: str) -> list[str]:
    """The note naming kept samples whose weight a format without a weight column cannot carry."""
    weighted = [s["clip_id"] for s in kept if abs(s["weight"] - 1) > 1e-6]
    if not weighted:
        return []
    holders = ", ".join(sorted(f.name for f in FORMATS.values() if f.weights))
    return [f"{len(weighted)} sample(s) weighted other than 1 (e.g. {weighted[0]}) are written without their weight: "
            f"{fmt} has no weight column (weight-0 samples are left out); {holders} hold weights"]


def _lost_labels(ws, revision, kept: list[dict], fmt: str, by: str) -> list[str]:
    """The note naming clips whose label a file that labels whole videos cannot carry, `by` the "votes" of their
    clips or their event "times" (none when every label is in it)."""
    lost = _labels_not_written(ws, revision, kept, by)
    if not lost:
        return []
    shown = ", ".join(lost[:3]) + (" …" if len(lost) > 3 else "")
    how = "(each by its clips' most common label)" if by == "votes" else "by their event times"
    return [f"the label of {len(lost)} clip(s) ({shown}) is not in the file: {fmt} labels whole videos {how}"]


def _labels_not_written(ws, revision, kept: list[dict], by: str) -> list[str]:
    """Kept clips whose label the video-level file cannot carry: by votes, those that disagree with their video's
    written label; by times (Nexar, events), those relabeled since the last ingest."""
    if by == "votes":
        written = video_labels(kept)
        return [s["clip_id"] for s in kept if s["label"] != written[s["video_id"]]]
    base = last_ingest(ws.tables, revision.dataset, revision.table)
    if base is None or base.number == revision.number:
        return []
    source = dict(zip(*ws.tables.read(base, ["clip_id", "label"]).to_pydict().values()))
    return [s["clip_id"] for s in kept if s["clip_id"] in source and source[s["clip_id"]] != s["label"]]
