"""What the review signals read from a workspace, as arrays and frames: clips' AUM and class probabilities,
out-of-fold probabilities of k-fold runs, videos' mean embeddings, frame descriptors and looks from the frame
cache, splits, and the label patterns a score curve should follow."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from curation.errors import BadInput, Fix
from curation.frames.descriptors import SIZE, video_descriptors
from curation.ingest.clips import LabelRule
from curation.ingest.layouts import LAYOUTS
from curation.review.metrics import clip_metrics, final_collection
from curation.review.signals.duplicates import unit_rows
from curation.runs.protocol import CollectionKey
from curation.runs.store import embedding_matrix
from curation.task import FRAMES, VIDEOS


def class_probabilities(collection: pa.Table, n_classes: int, run: str) -> np.ndarray:
    """(N, C) class probabilities of a collection's clips: its `probs` column; for a binary run collected before
    that column was kept, [1 - prob, prob]."""
    if "probs" in collection.column_names:
        flat = collection["probs"].combine_chunks()
        return flat.values.to_numpy(zero_copy_only=False).reshape(len(collection), -1).astype(float)
    if n_classes > 2:
        raise BadInput(f"run {run}'s collection pass kept only the top class's probability",
                       Fix("collect the run again to keep every class's probability", "collect", {"run": run}))
    p = collection["prob"].to_numpy(zero_copy_only=False).astype(float)
    return np.stack([1.0 - p, p], axis=1)


def with_class_probabilities(ws, clips: pd.DataFrame, runs: list[str]) -> pd.DataFrame:
    """`clips` with `probs`: each clip's class probabilities from the runs' final collection passes, averaged over
    the runs that have one (what a relabel reads; a clip no pass covers gets none)."""
    sums, counts = {}, {}
    for run in runs:
        name = final_collection(ws, run)
        if not name:
            continue
        collected = ws.runs.collection(run, name)
        probs = class_probabilities(collected, len(ws.runs.record(run).classes), run)
        for clip, p in zip(collected["clip_id"].to_pylist(), probs):
            sums[clip] = sums.get(clip, 0.0) + p
            counts[clip] = counts.get(clip, 0) + 1
    return clips.assign(probs=[sums[c] / counts[c] if c in sums else None for c in clips["clip_id"]])


def train_clip_aum(ws, run: str, repeats: list[str] = ()) -> pd.DataFrame:
    """The run's train clips (clip_id, video_id, label, aum, eval_margin) with the AUM of the run's dynamics and
    the margin of its final collection pass (NaN without one); with `repeats` (seed repeats of the run: the same
    revision), each averaged over all of them."""
    revision = ws.runs.record(run).trained_on(ws.tables)
    for other in repeats:
        if ws.runs.record(other).inputs.ref != revision.ref:
            raise BadInput(f"run {other} trained on another revision than {run}",
                           "average seed repeats of one revision")
    clips = ws.tables.read(revision, ["clip_id", "video_id", "split", "label"]).filter(pc.field("split") == "train")
    every = [_aum_and_margin(clip_metrics(ws, r)) for r in (run, *repeats)]
    metrics = every[0] if len(every) == 1 else pa.concat_tables(every).group_by("clip_id").aggregate(
        [("aum", "mean"), ("eval_margin", "mean")]).rename_columns(["clip_id", "aum", "eval_margin"])
    return clips.join(metrics, "clip_id", join_type="inner").to_pandas().dropna(subset=["aum", "label"])


def _aum_and_margin(metrics: pa.Table) -> pa.Table:
    """clip_id, aum, eval_margin (null for a run collected before margins were kept) of the clips trained on."""
    margin = metrics["eval_margin"] if "eval_margin" in metrics.column_names else pa.nulls(len(metrics), pa.float64())
    return pa.table({"clip_id": metrics["clip_id"], "aum": metrics["aum"].cast(pa.float64()),
                     "eval_margin": margin.cast(pa.float64())}).filter(pc.is_valid(pc.field("aum")))


def out_of_fold_probabilities(ws, runs: list[str]) -> pd.DataFrame:
    """clip_id, video_id, label, probs (every class's probability) from k-fold runs: each clip's probabilities come
    from the run that did not train on its fold (the runs' collection passes over their common training
    revision). Unlabelled clips are left out."""
    records = [ws.runs.record(r) for r in runs]
    refs = {r.inputs.ref for r in records}
    if len(refs) != 1 or any(r.config.get("fold") is None for r in records):
        raise BadInput(f"confident learning needs the k-fold runs of one revision; got runs over "
                       f"{', '.join(sorted(refs))}", Fix("train one run per fold of one revision", "train_folds"))
    revision = records[0].trained_on(ws.tables)
    folds = ws.tables.read(revision, ["clip_id", "fold"])
    parts = []
    for run, record in zip(runs, records):
        in_fold = folds.filter(pc.field("fold") == record.config["fold"])["clip_id"]
        collected = ws.runs.collection(run, str(record.training_collection()))
        held_out = collected.filter(pc.is_in(collected["clip_id"], value_set=in_fold)).sort_by("clip_id")
        frame = held_out.select(["clip_id", "video_id", "label"]).to_pandas()
        frame["probs"] = list(class_probabilities(held_out, len(record.classes), run))
        parts.append(frame)
    oof = pd.concat(parts, ignore_index=True).sort_values("clip_id", ignore_index=True)
    return oof[oof["label"].notna() & (oof["label"] >= 0)].astype({"label": int})


def embedding_descriptors(ws, run: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Per video: the mean embedding of its clips from the run's collection pass; and each video's split."""
    tables = [ws.runs.collection(run, name) for name in ws.runs.collections(run)
              if not (key := CollectionKey.parse(name)).tag and not key.dataset]  # periodic passes (epochN) and
    # other checkpoints repeat the final one; another dataset's videos are not this one's
    split_of = {v: s for t in tables for v, s in zip(t["video_id"].to_pylist(), t["split"].to_pylist())}
    return _mean_per_video(tables), split_of


def _mean_per_video(tables: list[pa.Table]) -> dict[str, np.ndarray]:
    """Per video, the mean of its clips' embeddings over the collection tables (a million clips: no loop)."""
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return {}
    codes, videos = pd.factorize(np.concatenate([t["video_id"].to_numpy(zero_copy_only=False) for t in tables]))
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    x = np.concatenate([embedding_matrix(t) for t in tables])[order]
    means = np.add.reduceat(x, starts, axis=0, dtype=np.float64) / np.diff(np.r_[starts, len(order)])[:, None]
    return dict(zip(videos, means.astype(np.float32)))  # codes are 0..k-1, so group j is videos[j]


def start_features(ws, run: str, progress: bool = False) -> dict[str, np.ndarray]:
    """Per train and val video of the run, the mean of its clips' features as the run's start saw them (the
    starting weights, before any training on these labels), from the run's `-start-labelled` collection, made the
    first time it is asked for (one eval pass over those clips); {} where the start cannot be rebuilt."""
    from curation.train.collect import START, collect_start

    record = ws.runs.record(run)
    name = str(CollectionKey.of(record.trained_on(ws.tables), START, home=record.inputs.dataset))
    if name not in ws.runs.collections(run) and collect_start(ws, run, progress) is None:
        return {}
    return _mean_per_video([ws.runs.collection(run, name)])


def labelled_videos(ws, run: str) -> pd.DataFrame:
    """The train and val videos of the run's training revision: index video_id; label (a video's highest clip
    label: a class video's only one) and split."""
    revision = ws.runs.record(run).trained_on(ws.tables)
    clips = ws.tables.read(revision, ["video_id", "split", "label"]).filter(
        pc.field("split").isin(["train", "val"]) & pc.is_valid(pc.field("label"))).to_pandas()
    return clips.groupby("video_id").agg(label=("label", "max"), split=("split", "first"))


class FrameDescriptors:
    """The dataset's videos' frame descriptors (frames/descriptors.py: kept in the frame cache, computed once) as
    the frames pass compares them: thumbnails as unit rows from `unit_rows` (`x`, `flat`: which were the mean
    thumbnail; centred, since what all dashcam frames share — road, horizon — says nothing about identity),
    `owner`: each thumbnail's video index, `videos`, and each video's look (mean frame, 8×8 RGB)."""

    def __init__(self, ws, dataset: str):
        task = ws.task(dataset)
        videos = ws.tables.read(task.head(ws.tables, VIDEOS), ["video_id"])["video_id"].to_pylist()
        frames = task.head(ws.tables, FRAMES)  # only a missing or stale video's rows are read
        found = video_descriptors(ws.cache(dataset), videos, lambda todo: ws.tables.read(
            frames, ["frame_id", "video_id", "index"], where=pc.field("video_id").isin(todo)))
        self.videos, self.looks = found.videos, found.looks
        self.owner = np.repeat(np.arange(len(found.videos), dtype=np.int64), [len(t) for t in found.thumbs])
        thumbs = np.concatenate(found.thumbs).astype(np.float32) if found.thumbs else \
            np.zeros((0, SIZE * SIZE), np.float32)
        self.x, self.flat = unit_rows(thumbs)


def splits(ws, dataset: str) -> dict[str, str]:
    videos = ws.tables.read(ws.task(dataset).head(ws.tables, VIDEOS), ["video_id", "split"]).to_pylist()
    return {v["video_id"]: v["split"] for v in videos}


def label_patterns(ws, record, videos: list[dict], curves: dict,
                   search_s: float = 3.0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per video, its labels over time (end times, 0/1, NaN where the labels say nothing) that a curve should
    follow: Nexar's label rule at every window end of the video's curve and `search_s` either side up to the
    event (its clips stop there: after it no label constrained the model); the events layout's own clips, which
    cover the video."""
    task = ws.task(record.inputs.dataset)
    layout = LAYOUTS[task.layout]
    if task.event_task:
        rule = LabelRule.parse(task.options.get("label_rule", "alert"))
        out = {}
        for v in videos:
            times = layout.labelled_times(v)
            if v["video_id"] in curves and times and len(times) == 1:
                t = np.asarray(curves[v["video_id"]][0], float)
                step = float(np.median(np.diff(t))) if len(t) > 1 else 0.1
                ends = np.arange(t[0] - search_s - step, t[-1] + search_s + step, step)  # every shift sees all of it
                labels = np.array([rule.label(e, times[0], layout.alert_time(v)) for e in ends], float)
                out[v["video_id"]] = (ends, np.where(ends <= times[0], labels, np.nan))
        return out
    clips = ws.tables.read(record.trained_on(ws.tables), ["video_id", "end_time_s", "label"]).to_pandas()
    return {v: (c["end_time_s"].to_numpy(), c["label"].to_numpy()) for v, c in clips[clips.label >= 0]
            .groupby("video_id")}
