"""`curate suggest`: proposals from one run, written as an edit file (id, level, action, value, reason, score);
nothing is applied. `curate edit clips --from FILE` applies a reviewed file as one revision.

Signals:
- label issues: the area under the margin (AUM; mean margin of a clip over every draw of every epoch) is
  low when the model keeps disagreeing with the label. Labels are given per video, so a video is scored by
  the mean AUM of the clips that carry its label, and flagged when that is far below the other videos of
  its label (robust z-score). Proposed at weight 0 by default; as relabels, per clip, of the clips the model
  argued with (`relabel_clips`).
- near-duplicates: videos that are each other's nearest neighbour and much closer to each other than to
  any other video, by their closest pair of frames (thumbnails from the cache) or by their mean embedding
  (the run's collection pass). A pair across splits is a leak: the train-side copy is proposed for deletion, the
  test side is never touched.
- corrupt, missing or unsupported videos from the ingest status.
- outliers: videos whose look (mean frame, 8×8 RGB) is far from every other video's (robust z-score of the
  distance to their nearest videos), proposed at weight 0 for review.
- with k-fold runs: confident learning on out-of-fold probabilities replaces AUM for label issues.
- timing (datasets labelled with event times, once the run's event times were predicted): a labelled time the
  run's whole-video score curve puts elsewhere, after the model's own lag is taken off, is proposed to move to
  where the curve peaks (events.timing).
"""
from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, replace

import cv2
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from curation.errors import BadInput, Fix
from curation.events.stored import newest_prediction
from curation.events.timing import misplaced_times
from curation.frames.cache import FrameReader
from curation.ingest.clips import LabelRule
from curation.ingest.layouts import LAYOUTS
from curation.review.metrics import LOW_QUANTILE, clip_metrics, final_collection
from curation.runs.learning import learning_check
from curation.runs.protocol import CollectionKey
from curation.runs.store import embedding_matrix
from curation.task import FRAMES, VIDEOS

COLUMNS = ["id", "level", "action", "value", "signal", "reason", "score"]
SIGNALS = ("unreadable", "near-duplicate", "leak", "label issue", "timing", "outlier")


@dataclass
class Suggestion:
    id: str
    level: str  # clip | video
    action: str  # delete | weight | label | retime
    value: str
    signal: str  # one of SIGNALS: what found it, for counting and filtering without parsing the reason
    reason: str
    score: float  # in [0, 1]; higher = more certain
    partner: str = ""  # a near-duplicate's other video, shown beside it for review (not in the edit file)
    video: str = ""  # the video of a clip-level suggestion ("" when the id is the video)


def _certainty(z: float) -> float:
    """A robust z-score as a score in [0, 1), comparable with the other signals' (z = 2 → 0.67)."""
    return round(float(z) / (1.0 + float(z)), 4)


def own_label_aum(aum: np.ndarray, labels: np.ndarray) -> float:
    """A video's mean AUM over the clips that carry the video's label (its highest clip label): for a positive
    Nexar video its positive clips — its early clips are negative in every video and say nothing about whether
    the video's label is right; for a class video, all its clips."""
    own = np.asarray(labels) == np.max(labels)
    return float(np.nanmean(np.asarray(aum, dtype=float)[own])) if own.any() else float("nan")


def robust_z(values: np.ndarray) -> np.ndarray:
    """(x - median) / (1.4826 · median absolute deviation): a z-score that the outliers it looks for do not
    inflate (falls back to the standard deviation when the MAD is 0)."""
    values = np.asarray(values, dtype=float)
    median = np.median(values)
    scale = 1.4826 * np.median(np.abs(values - median))
    scale = scale if scale > 1e-9 else (values.std() or 1.0)
    return (values - median) / scale


# Label issues are proposals a person reviews: a false alarm costs a glance, a miss leaves a wrong label in
# training, so the default cut-off leans to recall (1.5 robust SD; 2 gave precision 0.95 at recall 0.53 in
# bench/label_noise.py).
LABEL_ISSUE_Z = 1.5


def low_aum_videos(clips: pd.DataFrame, threshold: float = LABEL_ISSUE_Z) -> pd.DataFrame:
    """From clips' (video_id, label, aum): per video its label and own-label AUM, and `z`, its robust z-score
    among the videos of its label; the videos with z below -`threshold`. Per label, because how hard a class is
    to learn differs (positive clips near an alert stay uncertain long after negatives are easy), so one AUM
    cut-off for all classes would flag a hard class whole. Labels with fewer than 5 videos are skipped: too few
    to say what is typical."""
    videos = clips.groupby("video_id").apply(
        lambda g: pd.Series({"label": g["label"].max(), "aum": own_label_aum(g["aum"], g["label"])}),
        include_groups=False).dropna()
    videos["z"] = np.nan
    for _, group in videos.groupby("label"):
        if len(group) >= 5:
            videos.loc[group.index, "z"] = robust_z(group["aum"].to_numpy())
    return videos[videos["z"] < -threshold]


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
    """The run's train clips (clip_id, video_id, label, aum) with the AUM of the run's dynamics; with `repeats`
    (seed repeats of the run: the same revision), the AUM averaged over all of them."""
    revision = ws.runs.record(run).trained_on(ws.tables)
    for other in repeats:
        if ws.runs.record(other).inputs.ref != revision.ref:
            raise BadInput(f"run {other} trained on another revision than {run}",
                           "average seed repeats of one revision")
    clips = ws.tables.read(revision, ["clip_id", "video_id", "split", "label"]).filter(pc.field("split") == "train")
    own = clip_metrics(ws, run)
    metrics = own.select(["clip_id", "aum"])
    if repeats:
        every = pa.concat_tables([metrics] + [clip_metrics(ws, r).select(["clip_id", "aum"]) for r in repeats])
        metrics = every.group_by("clip_id").aggregate([("aum", "mean")]).rename_columns(["clip_id", "aum"])
    return clips.join(metrics, "clip_id", join_type="inner").to_pandas().dropna(subset=["aum", "label"])


def label_issues(ws, run: str, threshold: float = LABEL_ISSUE_Z, action: str = "weight",
                 value: str = "0", repeats: list[str] = ()) -> list[Suggestion]:
    """The train videos of the run's table that `low_aum_videos` finds in the run's training dynamics (with
    `repeats`, in the clips' AUM averaged over them all). With action `label`, their clips the model argued
    with, relabelled (`relabel_clips`)."""
    clips = train_clip_aum(ws, run, repeats)
    found = aum_issues(clips, threshold, action, value)
    if action != "label":
        return found
    return relabel_clips(with_class_probabilities(ws, clips, [run, *repeats]), found, ws.runs.record(run).classes)


def aum_issues(clips: pd.DataFrame, threshold: float, action: str, value: str) -> list[Suggestion]:
    """One proposal per video that `low_aum_videos` flags among `clips` (train_clip_aum's frame)."""
    return [Suggestion(video, "video", action, value, "label issue",
                       f"label issue: own-label AUM {row.aum:.2f} is {-row.z:.1f} robust SD below "
                       f"label-{int(row.label)} videos", _certainty(-row.z))
            for video, row in low_aum_videos(clips, threshold).iterrows()]


def preferred_class(probs, label: int) -> int:
    """The class the model prefers over `label`: the most probable of the others."""
    others = np.asarray(probs, dtype=float).copy()
    others[label] = -np.inf
    return int(np.argmax(others))


def relabel_clips(clips: pd.DataFrame, videos: list[Suggestion], classes: list) -> list[Suggestion]:
    """Relabels for flagged videos, per clip: each clip of theirs whose AUM is below 0 (the model preferred
    another class over most of training) gets the class it preferred — binary: the other one; more classes: the
    most probable other class in the final pass's probabilities (`probs`). Per clip, because a video's label may
    be a pattern in time: a Nexar positive's clips before the alert are negative whatever the video, so a flipped
    video's wrong clips are the ones the model argued with, and only they change."""
    by_video = {s.id: s for s in videos}
    argued = clips[clips["video_id"].isin(by_video) & (clips["aum"] < 0)]
    out = []
    for row in argued.itertuples():
        label = int(row.label)
        probs = getattr(row, "probs", None)
        if len(classes) <= 2:
            target = 1 - label
        elif isinstance(probs, np.ndarray):
            target = preferred_class(probs, label)
        else:
            continue  # no probabilities to say which class it is
        name = str(classes[target]) if target < len(classes) else str(target)
        video = by_video[row.video_id]
        out.append(Suggestion(row.clip_id, "clip", "label", name, "label issue",
                              f"{video.reason}; this clip's AUM {row.aum:.2f}: relabel to {name}", video.score,
                              video=row.video_id))
    return out


def confident_label_issues(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Confident learning (Northcutt et al. 2021) on out-of-fold class probabilities (N, C), by cleanlab's
    `find_label_issues` (its default: prune by noise rate from the confident joint): True where a sample's label
    is an issue."""
    from cleanlab.filter import find_label_issues

    labels = np.asarray(labels, dtype=int)
    probs = np.asarray(probs, dtype=float)
    probs = probs / probs.sum(axis=1, keepdims=True)
    if len(labels) < 2 or len(np.unique(labels)) < 2:
        return np.zeros(len(labels), bool)
    return np.asarray(find_label_issues(labels, probs, n_jobs=1), bool)  # n_jobs=1: Lance is not fork-safe


def contradicted_videos(clips: pd.DataFrame, share: float = LOW_QUANTILE,
                        issue: np.ndarray | None = None) -> pd.DataFrame:
    """From clips' (video_id, label, probs) out of fold: per video, how many of its clips confident learning
    contradicts; videos where at least `share` of the clips are contradicted — a stretch, not one odd clip.
    `issue`: per-clip flags from another method, judged by the same per-video rule."""
    if issue is None:
        issue = confident_label_issues(clips["label"].to_numpy(), np.stack(clips["probs"].to_numpy()))
    clips = clips.assign(issue=issue)
    per_video = clips.groupby("video_id")["issue"].agg(contradicted="sum", clips="size")
    per_video["share"] = per_video["contradicted"] / per_video["clips"]
    return per_video[per_video["share"] >= share]


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


def confident_learning(ws, runs: list[str], share: float = LOW_QUANTILE, action: str = "weight",
                       value: str = "0") -> list[Suggestion]:
    """Label issues per video from out-of-fold probabilities (labels are given per video, as for AUM): a video
    is flagged when at least `share` of its clips are confidently another class — a stretch of contradicted
    clips, not one odd clip."""
    oof = out_of_fold_probabilities(ws, runs)
    return [Suggestion(video, "video", action, value, "label issue",
                       f"label issue (confident learning): {int(row.contradicted)} of {int(row.clips)} clips "
                       "confidently another class", round(float(row.share), 4))
            for video, row in contradicted_videos(oof, share).iterrows()]


def _embedding_descriptors(ws, run: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Per video: the mean embedding of its clips from the run's collection pass; and each video's split."""
    vectors, split_of = {}, {}
    for name in ws.runs.collections(run):
        key = CollectionKey.parse(name)
        if key.tag or key.dataset:  # periodic passes (epochN) and other checkpoints repeat the final one; another
            continue  # dataset's videos are not this one's
        table = ws.runs.collection(run, name)
        for video, split, vec in zip(table["video_id"].to_pylist(), table["split"].to_pylist(),
                                     embedding_matrix(table)):
            vectors.setdefault(video, []).append(vec)
            split_of[video] = split
    return {v: np.mean(x, axis=0) for v, x in vectors.items()}, split_of


def _unit_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows centred on their mean and scaled to unit length, so that cosine compares what differs between
    them; and which rows were the mean itself (nothing left to compare: identical to each other). Float32 stays
    float32 (half the memory and time of the frames pass); `identical_within` knows its rounding."""
    x = np.asarray(x, dtype=np.float32 if np.asarray(x).dtype == np.float32 else np.float64)
    x = x - x.mean(axis=0) if len(x) else x
    norms = np.linalg.norm(x, axis=1)
    flat = norms <= 1e-6 * max(float(norms.max(initial=0.0)), 1e-12)
    return x / np.where(flat, 1.0, norms)[:, None] * ~flat[:, None], flat


def _cosine_distances(a: np.ndarray, a_flat: np.ndarray, b: np.ndarray, b_flat: np.ndarray) -> np.ndarray:
    """1 - cosine between unit rows, clipped at 0 (rounding makes identical rows slightly negative); rows that
    were the mean are at 0 from each other and at 1 from everything else."""
    dist = np.maximum(1.0 - a @ b.T, 0.0)
    dist[np.ix_(a_flat, b_flat)] = 0.0
    return dist


def _frame_thumbnails(ws, dataset: str, per_video: int = 12,
                      size: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Evenly spaced cached frames of every video as small grey thumbnails, unit rows from `_unit_rows`:
    (thumbnails, which were the mean thumbnail, owner index per thumbnail, video ids, looks). A video's look
    is its mean frame at 8×8 RGB: colour and layout (sky above, road below), what a wrong camera or a dead one
    changes."""
    frames = ws.tables.read(ws.task(dataset).head(ws.tables, FRAMES), ["frame_id", "video_id", "index"]).to_pandas()
    reader = FrameReader(ws.cache_dir(dataset))
    thumbs, owner, videos, looks = [], [], [], []
    for video, group in frames.sort_values("index").groupby("video_id"):
        ids = group["frame_id"].tolist()
        pick = [ids[int(k)] for k in np.linspace(0, len(ids) - 1, min(per_video, len(ids)))]
        look = []
        for rgb in reader.images(pick, min_side=size):
            grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            thumbs.append(cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32).ravel())
            look.append(cv2.resize(rgb, (8, 8), interpolation=cv2.INTER_AREA).astype(np.float32).ravel())
            owner.append(len(videos))
        videos.append(video)
        looks.append(np.mean(look, axis=0))
    # centred: what all dashcam frames share (road, horizon) says nothing about identity
    x, flat = _unit_rows(np.stack(thumbs) if thumbs else np.zeros((0, size * size), np.float32))
    return x, flat, np.asarray(owner), videos, np.stack(looks) if looks else np.zeros((0, 192), np.float32)


def _frame_distances(ws, dataset: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Video × video distances: (closest pair of their frames, video ids, distance of their looks). Copies
    that are cut, shifted or shorter still share near-identical frames; unrelated scenes do not. Independent
    of any model."""
    x, flat, owner, videos, looks = _frame_thumbnails(ws, dataset)
    n = len(videos)
    dist = np.full((n, n), np.inf, dtype=x.dtype)  # the dtype of the computation: identical_within reads it
    starts = np.searchsorted(owner, np.arange(n))
    for i in range(n):
        mine = owner == i  # best match of each frame against any frame of video i
        d = _cosine_distances(x[mine], flat[mine], x, flat).min(axis=0)
        dist[i] = np.minimum.reduceat(d, starts)
    dist = np.minimum(dist, dist.T)
    np.fill_diagonal(dist, np.inf)
    look_dist = np.sqrt(((looks[:, None] - looks[None]) ** 2).sum(-1))
    np.fill_diagonal(look_dist, np.inf)
    return dist, videos, look_dist


def _embedding_distances(vectors: dict[str, np.ndarray]) -> tuple[np.ndarray, list[str], list[str]]:
    """Video × video cosine distances of their mean embeddings, the video ids, and the videos left out because
    their embedding is not finite (a diverged run)."""
    finite = sorted(v for v, x in vectors.items() if np.isfinite(x).all())
    unusable = sorted(set(vectors) - set(finite))
    x, flat = _unit_rows(np.stack([vectors[v] for v in finite]) if finite else np.zeros((0, 1)))
    dist = _cosine_distances(x, flat, x, flat)
    np.fill_diagonal(dist, np.inf)
    return dist, finite, unusable


def identical_within(dtype) -> float:
    """Distances at or below this are copies, not neighbours: the rounding noise of identical descriptors in
    `dtype` (measured up to 6e-7 in float32), with room to spare; a re-encoded copy is 1e-3 or more away."""
    return 64 * float(np.finfo(dtype).eps)


def _identical_groups(dist: np.ndarray, videos: list[str]) -> list[list[str]]:
    """Groups of two or more videos whose descriptors coincide (linked by distances within rounding)."""
    group = list(range(len(videos)))

    def root(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for i, j in zip(*np.nonzero(dist <= identical_within(dist.dtype))):
        group[root(i)] = root(j)
    members: dict[int, list[str]] = {}
    for i, video in enumerate(videos):
        members.setdefault(root(i), []).append(video)
    return [sorted(g) for g in members.values() if len(g) > 1]


def _distinct_pairs(dist: np.ndarray, videos: list[str], ratio: float) -> list[tuple[str, str, float, float]]:
    """Pairs of videos that are each other's nearest neighbour and far closer to each other than to anything
    else (nearest / second-nearest distance below `ratio` for both): (a, b, distance, second distance). A video
    whose second-nearest is as close as its nearest (a group of identical ones) is no pair."""
    if len(videos) < 3:
        return []
    order = np.argsort(dist, axis=1)
    nearest, second = order[:, 0], dist[np.arange(len(videos)), order[:, 1]]
    return [(videos[i], videos[j], float(dist[i, j]), float(min(second[i], second[j])))
            for i, j in enumerate(nearest)
            if i < j and nearest[j] == i and dist[i, j] < ratio * min(second[i], second[j])]


SPLIT_ORDER = {"train": 0, "val": 1, "test": 2}  # which copy of a duplicate stays: the one furthest from training


def duplicate_pairs(dist: np.ndarray, videos: list[str], ratio: float, signal: str, split_of: dict[str, str],
                    notes: list[str]) -> list[tuple[str, str, float, float, str]]:
    """(a, b, distance, next-nearest distance, signal) for near-duplicate pairs and for every copy in a group of
    identical videos (paired with the copy that stays; next-nearest 0). When every video is identical, nothing
    tells copies from the rest: a note says so and no pair is returned."""
    groups = _identical_groups(dist, videos)
    if len(videos) >= 2 and len(groups) == 1 and len(groups[0]) == len(videos):
        notes.append(f"all {len(videos)} videos coincide by {signal} (a run that learned nothing, or copies of one "
                     f"video): no near-duplicates judged by {signal}")
        return []
    pairs = [(a, b, d, second, signal) for a, b, d, second in _distinct_pairs(dist, videos, ratio)]
    paired = {frozenset(p[:2]) for p in pairs}
    for group in groups:
        keep = min(group, key=lambda v: (-SPLIT_ORDER.get(split_of.get(v), 0), v))
        pairs += [(keep, copy, 0.0, 0.0, signal) for copy in group
                  if copy != keep and frozenset((keep, copy)) not in paired]
    return pairs


def embedding_pairs(embeddings: dict[str, np.ndarray], ratio: float, split_of: dict[str, str],
                    notes: list[str]) -> list[tuple[str, str, float, float, str]]:
    """`duplicate_pairs` by the videos' mean embeddings; videos whose embedding is not finite are left out,
    with a note."""
    dist, videos, unusable = _embedding_distances(embeddings)
    if unusable:
        notes.append(f"{len(unusable)} video(s) have embeddings that are not finite (did the run diverge?), e.g. "
                     f"{unusable[0]}: left out of the near-duplicates by embeddings")
    return duplicate_pairs(dist, videos, ratio, "embeddings", split_of, notes)


def _splits(ws, dataset: str) -> dict[str, str]:
    videos = ws.tables.read(ws.task(dataset).head(ws.tables, VIDEOS), ["video_id", "split"]).to_pylist()
    return {v["video_id"]: v["split"] for v in videos}


def near_duplicates(ws, run: str, frames_ratio: float = 0.4, embedding_ratio: float = 0.15,
                    frames: tuple[np.ndarray, list[str], np.ndarray] | None = None,
                    notes: list[str] | None = None, embeddings: bool = True) -> list[Suggestion]:
    """Ratios: how much closer a pair must be to each other than to their next-nearest video. Embeddings
    of an early run cluster loosely, so they must be much closer to count (`embeddings=False`: frames only, for
    a run that learned nothing). `frames`: the frame distances, when already computed. `notes` collects what
    could not be judged."""
    notes = [] if notes is None else notes
    dataset = ws.runs.record(run).inputs.dataset
    embeddings, split_of = _embedding_descriptors(ws, run) if embeddings else ({}, {})
    split_of = {**_splits(ws, dataset), **split_of}
    frame_dist, frame_ids, _ = frames or _frame_distances(ws, dataset)
    found = {}
    for a, b, d, typical, signal in (duplicate_pairs(frame_dist, frame_ids, frames_ratio, "frames", split_of, notes)
                                     + embedding_pairs(embeddings, embedding_ratio, split_of, notes)):
        found.setdefault(frozenset((a, b)), (a, b, d, typical, signal))
    out = []
    for a, b, d, typical, signal in found.values():
        splits = {split_of[a], split_of[b]}
        if splits == {"test"}:
            continue  # test is never edited
        leak = len(splits) > 1
        if leak:  # delete the side that is trained on: the test (or val) copy stays
            victim = min((a, b), key=lambda v: SPLIT_ORDER.get(split_of[v], 0))
        else:
            victim = max(a, b)
        other = b if victim == a else a
        kind = f"leak: near-duplicate of {split_of[other]} video {other}" if leak else f"near-duplicate of {other}"
        closeness = (f"identical by {signal}" if typical == 0 else
                     f"{signal} distance {d:.3f}, next nearest {typical:.3f}")
        out.append(Suggestion(victim, "video", "delete", "", "leak" if leak else "near-duplicate",
                              f"{kind} ({closeness})", round(1 - d / typical, 4) if typical > 0 else 1.0,
                              partner=other))
    return out


def outliers(ws, run: str, threshold: float = 3.5, neighbours: int = 5,
             frames: tuple[np.ndarray, list[str], np.ndarray] | None = None) -> list[Suggestion]:
    """Videos unlike all others: the mean distance of their look (mean frame, 8×8 RGB) to their `neighbours`
    nearest videos is more than `threshold` robust standard deviations above the typical video's (3.5: the
    usual cut-off for the modified z-score). Proposed at weight 0 for review: a rare but real scene is worth
    keeping; a dead camera, a wrong mount or a broken colour pipeline is not."""
    dataset = ws.runs.record(run).inputs.dataset
    _, videos, look_dist = frames or _frame_distances(ws, dataset)
    if len(videos) <= 2 * neighbours:  # too few videos to say what is typical
        return []
    knn = np.sort(look_dist, axis=1)[:, :neighbours].mean(axis=1)
    split_of = _splits(ws, dataset)
    return [Suggestion(v, "video", "weight", "0", "outlier",
                       f"outlier: its look is {d:.0f} from its {neighbours} nearest "
                       f"videos, {z:.1f} robust SD above the typical video", _certainty(z))
            for v, d, z in zip(videos, knn, robust_z(knn)) if z > threshold and split_of.get(v) != "test"]


def unreadable_videos(ws, run: str) -> list[Suggestion]:
    dataset = ws.runs.record(run).inputs.dataset
    videos = ws.tables.read(ws.task(dataset).head(ws.tables, VIDEOS), ["video_id", "status", "status_reason", "split"])
    return [Suggestion(v["video_id"], "video", "delete", "", "unreadable", f"{v['status']}: {v['status_reason']}",
                       1.0)
            for v in videos.to_pylist() if v["status"] != "ok" and v["split"] != "test"]


class Suggestions(list):
    """Suggestions, most certain first, and `notes`: what could not be judged and why (shown beside them)."""

    def __init__(self, items=(), notes=()):
        super().__init__(items)
        self.notes = list(notes)


def suggest(ws, run_ref: str, runs: list[str] | None = None, **label_options) -> Suggestions:
    """All proposals for the run's training table, most certain first (a video appears once). With `runs`
    (several runs of one revision: its k-fold runs, or seed repeats), label issues come from all of them
    (`label_issues_of_runs`) instead of the one run's dynamics. Runs that did not learn give no label issues."""
    run = ws.runs.resolve(run_ref)
    notes = []
    check = learning_check(ws.runs.record(run))
    if runs:
        labels = label_issues_of_runs(ws, [ws.runs.resolve(r) for r in runs], notes, **label_options)
    elif check.learned is False:  # its dynamics point at random clips
        labels = []
        notes.append(f"{run} {check.reason}: no label suggestions and no embedding near-duplicates from it; train "
                     "it longer or with other settings, or use fold runs")
    else:
        labels = label_issues(ws, run, **label_options)
    timing = learned_timing_issues(ws, run, notes, check)
    frames = _frame_distances(ws, ws.runs.record(run).inputs.dataset)
    found = (unreadable_videos(ws, run)
             + near_duplicates(ws, run, frames=frames, notes=notes, embeddings=check.learned is not False) + labels
             + timing + outliers(ws, run, frames=frames))
    return Suggestions(sorted(one_action_per_sample(found), key=lambda s: -s.score), notes)


def one_action_per_sample(found: list[Suggestion]) -> list[Suggestion]:
    """One action per video and its clips: the first signal in `found` to name a video keeps it (a corrupt or
    duplicated video needs no label review), its own clip-level rows for other clips of that video included; later
    signals on that video are dropped and named at the end of the kept rows' reasons."""
    owner, also = {}, {}
    for s in found:
        video = s.video or s.id
        first = owner.setdefault(video, s)
        if first.signal != s.signal or first.level != s.level:
            also.setdefault(video, []).append(s.signal)
    out, seen = [], set()
    for s in found:
        video = s.video or s.id
        first = owner[video]
        if s.id in seen or first.signal != s.signal or first.level != s.level:
            continue
        seen.add(s.id)
        others = sorted(set(also.get(video, ())))
        out.append(replace(s, reason=f"{s.reason}; also {', '.join(others)}") if others else s)
    return out


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


def learned_timing_issues(ws, run: str, notes: list[str], check=None) -> list[Suggestion]:
    """`timing_issues` from a run that did not fail the learning check (`check`, computed when not given): a run
    that did not learn proposes no times, as it proposes no labels."""
    check = check or learning_check(ws.runs.record(run))
    return timing_issues(ws, run, notes) if check.learned is not False else []


def timing_issues(ws, run: str, notes: list[str], tolerance_s: float = 0.5,
                  search_s: float = 3.0) -> list[Suggestion]:
    """Labelled event times that the run's newest whole-video prediction on its dataset puts elsewhere
    (events.timing), as `retime` proposals: the new time, or `old:new` for one event of several."""
    record = ws.runs.record(run)
    task = ws.task(record.inputs.dataset)
    layout = LAYOUTS[task.layout]
    if not layout.times_are_labels:
        return []
    found = newest_prediction(ws, run, task.dataset)
    if found is None:
        notes.append(f"event times not checked: predict {run}'s event times on {task.dataset}'s videos first")
        return []
    result, curves = found
    videos = ws.tables.read(task.videos_at(ws.tables, record.inputs.videos)).to_pylist()
    labelled = {v["video_id"]: times for v in videos if (times := layout.labelled_times(v))}
    moves, _ = misplaced_times(curves, result["predicted"], labelled, tolerance_s, search_s,
                               label_patterns(ws, record, videos, curves, search_s))
    out = []
    for m in moves:
        value = f"{m.suggested:.3f}" if len(labelled[m.video_id]) == 1 else f"{m.labelled:.3f}:{m.suggested:.3f}"
        how = (f"the curve follows its label pattern best at {m.suggested:.2f} s (error {m.at_suggested:.2f} "
               f"there, {m.at_label:.2f} at the label)" if m.by == "pattern" else
               f"the curve peaks at {m.suggested:.2f} s (score {m.at_suggested:.2f} there, {m.at_label:.2f} at the "
               "label)")
        out.append(Suggestion(m.video_id, "video", "retime", value, "timing",
                              f"labelled at {m.labelled:.2f} s, {how}, the model's lag of {m.lag:+.2f} s taken off",
                              m.certainty))
    return out


def label_issues_of_runs(ws, runs: list[str], notes: list[str], threshold: float = LABEL_ISSUE_Z,
                         action: str = "weight", value: str = "0") -> list[Suggestion]:
    """Label issues from several runs of one revision, per video: the clips' AUM averaged over the runs, and —
    when they are its k-fold runs — confident learning on their out-of-fold probabilities. A video either
    detector flags is proposed once, its reason naming each that did; runs that did not learn are left out."""
    if len(set(runs)) < 2:
        raise BadInput("label issues from several runs need at least two distinct runs",
                       "give the k-fold runs of one revision, or seed repeats of one revision and config")
    records = {r: ws.runs.record(r) for r in runs}
    learned = []
    for r, record in records.items():
        check = learning_check(record)
        if check.learned is False:
            notes.append(f"{r} {check.reason}: left out of the label issues")
        else:
            learned.append(r)
    if not learned:
        return []
    folds = [record.config.get("fold") for record in records.values()]
    per_video = "weight" if action == "label" else action  # relabels are per clip, made from the videos found
    clips = train_clip_aum(ws, learned[0], learned[1:])
    by_aum = {s.id: s for s in aum_issues(clips, threshold, per_video, value)}
    by_cl = {}
    if all(f is not None for f in folds) and len(learned) == len(runs):  # out-of-fold needs every fold
        by_cl = {s.id: s for s in confident_learning(ws, runs, action=per_video, value=value)}
    elif any(f is not None for f in folds):
        notes.append("confident learning needs every fold's run to have learned: label issues by AUM only")
    out = []
    for video in sorted(set(by_aum) | set(by_cl)):
        both = [s for s in (by_aum.get(video), by_cl.get(video)) if s is not None]
        out.append(Suggestion(video, "video", action, value, "label issue", "; ".join(s.reason for s in both),
                              max(s.score for s in both)))
    if action == "label":
        return relabel_clips(with_class_probabilities(ws, clips, learned), out, records[learned[0]].classes)
    return out


def to_csv(suggestions: list[Suggestion]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for s in suggestions:
        writer.writerow(asdict(s))
    return buf.getvalue()
