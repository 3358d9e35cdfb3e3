"""Label issues from arrays: the area under the margin (AUM) per label, confident learning on out-of-fold class
probabilities, and the class a flagged clip goes to."""
from __future__ import annotations

import numpy as np
import pandas as pd

from curation.review.metrics import LOW_QUANTILE
from curation.review.signals.neighbours import knn
from curation.review.signals.robust import robust_z
from curation.review.suggestion import Suggestion, certainty
from curation.review.words import class_name, contradicted_words, label_issue_words

# Label issues are proposals a person reviews: a false alarm costs a glance, a miss leaves a wrong label in
# training, so the default cut-off leans to recall (1.5 robust SD; 2 gave precision 0.95 at recall 0.53 in
# bench/label_noise.py).
LABEL_ISSUE_Z = 1.5
# With a second opinion from the start's features (multi-class runs), the two robust z-scores are summed and a
# video is flagged below -1.75: on the actions demo's decision seeds 100-103 mean P 0.73, R 0.75 (at -2: P 0.76,
# R 0.69; bench/README.md, issue 41).
SECOND_OPINION_Z = 1.75
NEIGHBOURS = 5


def label_margin(clips: pd.DataFrame) -> np.ndarray:
    """Per clip, how firmly the model held its label: the mean of its AUM (the margin over training) and the
    finished model's margin in the final collection pass (`eval_margin`), or the AUM alone where there is no
    final pass. A short run sees each clip a few times, early, so its AUM alone is noisy; the final margin is one
    measurement by the model that has learned the most (bench/README.md, issue 41)."""
    aum = clips["aum"].to_numpy(dtype=float)
    final = clips["eval_margin"].to_numpy(dtype=float) if "eval_margin" in clips else np.full(len(aum), np.nan)
    return np.where(np.isnan(final), aum, (aum + final) / 2)


def neighbour_agreement(vectors: np.ndarray, labels: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
    """Per row, the share of its `k` nearest other rows that carry its label, by the cosine of the rows
    standardised per feature (what every row shares says nothing about which rows are alike)."""
    labels = np.asarray(labels)
    x = np.asarray(vectors, dtype=np.float32)
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)
    idx, _ = knn(x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12), k)  # knn's cosine takes unit rows
    found = idx >= 0
    same = (labels[np.where(found, idx, 0)] == labels[:, None]) & found
    return same.sum(axis=1) / np.maximum(found.sum(axis=1), 1)


def _z_per_label(videos: pd.DataFrame, column: str) -> pd.Series:
    """Robust z of `column` among the videos of each label; NaN for labels of fewer than 5 videos (too few to say
    what is typical)."""
    z = pd.Series(np.nan, index=videos.index)
    for _, group in videos.groupby("label"):
        if len(group) >= 5:
            z[group.index] = robust_z(group[column].to_numpy())
    return z


def low_aum_videos(clips: pd.DataFrame, threshold: float = LABEL_ISSUE_Z,
                   start: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """From clips' (video_id, label, aum[, eval_margin]): per video its label and own-label margin (`aum`:
    `label_margin` over the clips that carry its label), and `z`, its robust z-score among the videos of its
    label; the videos with z below -`threshold`. Per label, because how hard a class is to learn differs
    (positive clips near an alert stay uncertain long after negatives are easy), so one cut-off for all classes
    would flag a hard class whole.
    `start`: video → features from the run's start (a second opinion that never saw these labels): then also
    `agreement`, the share of a video's nearest videos by them that carry its label, `z_agreement` its robust z
    per label, and a video is flagged where z + z_agreement is below -SECOND_OPINION_Z (scaled as `threshold` is to
    its default, so that a caller's cut-off moves both)."""
    clips = clips.assign(score=label_margin(clips))
    # a video's own-label margin: the mean over the clips that carry its label (its highest clip label) — for a
    # positive Nexar video its positive clips: its early clips are negative in every video and say nothing about
    # whether the video's label is right; for a class video, all its clips
    own = clips[clips["label"] == clips.groupby("video_id")["label"].transform("max")]
    videos = own.groupby("video_id").agg(label=("label", "max"), aum=("score", "mean")).dropna()
    videos["z"] = _z_per_label(videos, "aum")
    seen = videos.index.isin(list(start or {}))
    if seen.sum() <= NEIGHBOURS:
        return videos[videos["z"] < -threshold]
    opinion = videos[seen].copy()  # a video the start's pass could not read is judged by its margin alone
    opinion["agreement"] = neighbour_agreement(np.stack([start[v] for v in opinion.index]), opinion["label"].to_numpy())
    opinion["z_agreement"] = _z_per_label(opinion, "agreement")
    alone = videos[~seen]
    flagged = opinion[opinion["z"] + opinion["z_agreement"] < -SECOND_OPINION_Z * threshold / LABEL_ISSUE_Z]
    return pd.concat([flagged, alone[alone["z"] < -threshold]])


def class_names(clips: pd.DataFrame, video: str, label: int, classes: list) -> tuple[str, str]:
    """A video's label and the class the model preferred over it, by name: for two classes the other one; for more,
    the most probable other class of its clips' mean `probs` ("" without them)."""
    if len(classes) == 2:
        return class_name(classes, label), class_name(classes, 1 - label)
    probs = [p for p in clips.loc[clips["video_id"] == video, "probs"] if isinstance(p, np.ndarray)] \
        if "probs" in clips else []
    preferred = class_name(classes, preferred_class(np.mean(probs, axis=0), label)) if probs else ""
    return class_name(classes, label), preferred


def aum_issues(clips: pd.DataFrame, threshold: float, action: str, value: str,
               start: dict[str, np.ndarray] | None = None, classes: list = ()) -> list[Suggestion]:
    """One proposal per video that `low_aum_videos` flags among clips' (clip_id, video_id, label, aum[, probs]);
    `classes` name its label and the class the model preferred in the proposal's plain words."""
    out = []
    for video, row in low_aum_videos(clips, threshold, start).iterrows():
        reason = (f"label issue: own-label margin {row.aum:.2f} is {-row.z:.1f} robust SD below label-"
                  f"{int(row.label)} videos")
        z = -row.z
        if not pd.isna(row.get("agreement")):
            reason += (f", and {row.agreement:.0%} of its {NEIGHBOURS} nearest videos by the start's features "
                       f"carry its label ({-row.z_agreement:.1f} SD below)")
            z = -(row.z + row.z_agreement) * LABEL_ISSUE_Z / SECOND_OPINION_Z  # the cut-offs score alike
        plain = label_issue_words(*class_names(clips, video, int(row.label), list(classes)), row.get("agreement"))
        out.append(Suggestion(video, "video", action, value, "label issue", reason, certainty(z), plain=plain))
    return out


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
        name = class_name(classes, target)
        video = by_video[row.video_id]
        out.append(Suggestion(row.clip_id, "clip", "label", name, "label issue",
                              f"{video.reason}; this clip's AUM {row.aum:.2f}: relabel to {name}", video.score,
                              video=row.video_id, plain=video.plain))
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


def contradicted_issues(oof: pd.DataFrame, share: float, action: str, value: str,
                        classes: list = ()) -> list[Suggestion]:
    """One proposal per video that `contradicted_videos` finds in out-of-fold (video_id, label, probs)."""
    label_of = oof.groupby("video_id")["label"].max()
    return [Suggestion(video, "video", action, value, "label issue",
                       f"label issue (confident learning): {int(row.contradicted)} of {int(row.clips)} clips "
                       "confidently another class", round(float(row.share), 4),
                       plain=contradicted_words(*class_names(oof, video, int(label_of[video]), list(classes)),
                                                int(row.contradicted), int(row.clips)))
            for video, row in contradicted_videos(oof, share).iterrows()]
