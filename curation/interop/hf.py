"""`hf`: a Hugging Face `datasets` dataset — Parquet shards per split under data/ with the features (the label
as a `ClassLabel`) in each shard's schema, and a README.md dataset card whose `configs` let
`datasets.load_dataset(<folder>)` find the splits. One row per kept clip of any layout: ids, the video's path
(relative to the folder), the clip's times and frames, the label, the weight; for datasets labelled by times
(Nexar, events) the clip's time to the event and the video's event times and alert time; for QA the question, its
choices and answer; with `--run` the run's per-clip metrics. `curate ingest hf` reads such a folder (or any
Parquet with a path and a label column) back as a class dataset of its clips' labels."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curation.errors import BadInput, NotFound
from curation.frames.timeline import Timeline
from curation.fsutil import write_output
from curation.ingest.layouts import LAYOUTS
from curation.ingest.layouts.base import Source
from curation.interop.base import Curated, Format, check_weight, clip_start, split_name, videos_of_clips

HF_SPLITS = {"train": "train", "val": "validation", "test": "test"}  # datasets' split names
ROWS_PER_SHARD = 100_000
PATH_COLUMNS = ("video", "path", "video_path")


class HuggingFace(Format):
    name = "hf"
    consumer = "Hugging Face datasets.load_dataset(folder) or load_dataset(\"parquet\", data_files=…), pandas"

    metric_columns = True

    def holds(self, layout) -> bool:
        return True  # a row per clip holds every layout's labels, and the videos' labelled times beside them

    def write(self, curated: Curated, out: Path, copy: bool) -> list[Path]:
        layout = LAYOUTS[curated.task.layout]
        rows = [self._row(curated, layout, s, out) for s in curated.samples]
        metric_names = sorted({k for m in curated.metrics.values() for k in m} - set(rows[0] if rows else {}))
        for row in rows:
            row.update({k: curated.metrics.get(row["clip_id"], {}).get(k) for k in metric_names})
        features = self._features(curated.task.classes, metric_names, layout.extra_columns)
        meta = {b"huggingface": json.dumps({"info": {"features": features}}).encode(),
                b"curate": json.dumps(curated.provenance).encode()}
        files = []
        for split, name in HF_SPLITS.items():
            part = [r for r in rows if r["split"] == split]
            shards = max(1, -(-len(part) // ROWS_PER_SHARD))
            for k in range(shards if part else 0):
                shard = part[k * ROWS_PER_SHARD:(k + 1) * ROWS_PER_SHARD]
                table = pa.Table.from_pylist(shard, schema=_schema(features))
                path = out / "data" / f"{name}-{k:05d}-of-{shards:05d}.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(table.replace_schema_metadata(meta), path)
                files.append(path)
        written = sorted({f.name.split("-")[0] for f in files})
        files.append(write_output(out / "README.md", _card(curated, written).encode()))
        return files

    @staticmethod
    def _row(curated: Curated, layout, s: dict, out: Path) -> dict:
        video = curated.videos[s["video_id"]]
        timeline = Timeline.of_video(video) if video.get("fps") else None
        first = clip_start(s)
        return {"clip_id": s["clip_id"], "video_id": s["video_id"],
                "video": Path(os.path.relpath(curated.media(s["video_id"]), out.resolve())).as_posix(),
                "label": s["label"], "split": s["split"], "weight": s["weight"],
                "start_s": timeline.time_of(first) if timeline else None, "end_s": s["end_time_s"],
                "first_frame": first, "end_frame": s["end_frame"], "stride": s["stride"], "n_frames": s["n_frames"],
                "video_start_s": video.get("start_s"), "video_end_s": video.get("end_s"),
                "time_to_event_s": s.get("time_to_event_s"), "event_times_s": layout.labelled_times(video),
                "alert_s": layout.alert_time(video), **{c: s.get(c) for c in layout.extra_columns}}

    @staticmethod
    def _features(classes: list[str], metric_names: list[str], extra: tuple[str, ...] = ()) -> dict:
        value = {"clip_id": "string", "video_id": "string", "video": "string", "split": "string",
                 "weight": "float32", "start_s": "float64", "end_s": "float64", "first_frame": "int64",
                 "end_frame": "int64", "stride": "int64", "n_frames": "int64", "video_start_s": "float64",
                 "video_end_s": "float64", "time_to_event_s": "float64", "alert_s": "float64",
                 **{c: "string" for c in extra}, **{m: "float64" for m in metric_names}}
        features = {k: {"dtype": t, "_type": "Value"} for k, t in value.items()}
        features["event_times_s"] = {"feature": {"dtype": "float64", "_type": "Value"}, "_type": "Sequence"}
        features["label"] = {"names": list(classes), "_type": "ClassLabel"}
        return features


def _schema(features: dict) -> pa.Schema:
    def arrow(f: dict) -> pa.DataType:
        if f["_type"] == "ClassLabel":
            return pa.int64()
        if f["_type"] == "Sequence":
            return pa.list_(arrow(f["feature"]))
        return pa.type_for_alias(f["dtype"])

    return pa.schema([(name, arrow(f)) for name, f in features.items()])


def _card(curated: Curated, splits: list[str]) -> str:
    configs = "".join(f"      - split: {s}\n        path: data/{s}-*\n" for s in splits)
    return (f"---\nconfigs:\n  - config_name: default\n    data_files:\n{configs}---\n\n"
            f"# {curated.ref}\n\nExported by curate from `{curated.ref}` (fingerprint `{curated.fingerprint}`"
            + (f", metrics of run `{curated.run}`" if curated.run else "") + "). One row per clip; `video` is the "
            "file relative to this folder, `start_s`/`end_s` the clip's span, `weight` its training weight; "
            "`time_to_event_s`, `event_times_s` and `alert_s` the labelled times where the dataset has them.\n")


def read_hf(path: str | Path) -> Source:
    """A folder of Parquet files (as `export --format hf` writes) or one Parquet file: a path column (`video`,
    `path` or `video_path`, relative to the folder) and a `label` column (a ClassLabel, or class names);
    optional `video_id`, `split` (else from the file name: train-…, validation-…, test-…), `weight` and the
    video segment (`video_start_s`, `video_end_s`). Rows of one video (clips) become one video."""
    path = Path(path)
    if not path.exists():
        raise NotFound(f"{path} does not exist", "give the dataset's folder or a Parquet file")
    root = path if path.is_dir() else path.parent
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise BadInput(f"{path} holds no .parquet file", "give the folder of a Hugging Face Parquet dataset")
    rows, names = [], None
    for f in files:
        try:
            table = pq.read_table(f)
        except (pa.ArrowInvalid, OSError) as exc:
            raise BadInput(f"{f.name} is not a readable Parquet file ({exc})", "give the dataset's Parquet files")
        column = next((c for c in PATH_COLUMNS if c in table.column_names), None)
        if column is None or "label" not in table.column_names:
            raise BadInput(f"{f.name} has no {'path' if column is None else 'label'} column",
                           f"give Parquet with a label and one of {', '.join(PATH_COLUMNS)}")
        names = names or _class_names(table.schema)
        file_split = {v: k for k, v in HF_SPLITS.items()}.get(f.name.split("-")[0])
        for k, r in enumerate(table.to_pylist()):
            where = f"{f.name} row {k}"
            if r[column] in (None, ""):
                raise BadInput(f"{where}: empty {column}", "give every row the path of its video")
            rows.append({"video_id": r.get("video_id") or str(r[column]).rsplit(".", 1)[0], "path": r[column],
                         "label": r["label"], "split": split_name(r.get("split") or file_split, where),
                         "weight": check_weight(r["weight"], where) if r.get("weight") is not None else 1.0,
                         "start_s": r.get("video_start_s"), "end_s": r.get("video_end_s")})
    given = [r["label"] for r in rows]
    if names is None and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in given):
        names = [str(i) for i in range(max(given) + 1)]  # class indices without names
    classes = names or sorted({str(v) for v in given if v is not None})
    for r in rows:
        r["label"] = _label_index(r["label"], classes, path.name)
    if len(classes) < 2:
        raise BadInput(f"{path.name} has {len(classes)} class(es)", "give a dataset with at least two classes")
    return Source("manifest", root, classes, videos_of_clips(rows, path.name), files)


def _class_names(schema: pa.Schema) -> list[str] | None:
    info = json.loads((schema.metadata or {}).get(b"huggingface", b"{}"))
    label = info.get("info", {}).get("features", {}).get("label", {})
    return list(label["names"]) if label.get("_type") == "ClassLabel" else None


def _label_index(value, classes: list[str], where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(classes):
        return value
    if isinstance(value, str) and value in classes:
        return classes.index(value)
    raise BadInput(f"{where}: label {value!r} is not one of the classes ({', '.join(classes[:5])})",
                   "give every row a label of the dataset's classes")
