"""`curate suggest`: proposals from one run, written as an edit file (id, level, action, value, reason, score);
nothing is applied. `curate edit clips --from FILE` applies a reviewed file as one revision.

Signals:
- label issues: the area under the margin (AUM; mean margin of a clip over every draw of every epoch) is
  low when the model keeps disagreeing with the label. Labels are given per video, so a video is scored by
  the mean AUM of the clips that carry its label, and flagged when that is far below the other videos of
  its label (robust z-score). Where the run's start can be rebuilt those videos are only suspects: a probe (a new
  linear head on the run's and its start's features) is fitted on the val videos (more than two classes: and the
  train videos not suspected, each read by a fit without it); a video whose label it does not prefer is the
  issue. Proposed at weight 0 by default; as relabels, per clip, of the clips the model argued with
  (`relabel_clips`), or for a multi-class video the probe read, of the whole video to the class it prefers.
- near-duplicates: videos that are each other's nearest neighbour and much closer to each other than to
  any other video, by their closest pair of frames (thumbnails from the cache) or by their mean embedding
  (the run's collection pass); through a nearest-neighbour index on large datasets, never an n × n matrix. A
  pair across splits is a leak: the train-side copy is proposed for deletion, the test side is never touched.
- corrupt, missing or unsupported videos from the ingest status.
- outliers: videos whose look (mean frame, 8×8 RGB) is far from every other video's (robust z-score of the
  distance to their nearest videos), proposed at weight 0 for review.
- with k-fold runs: confident learning on out-of-fold probabilities replaces AUM for label issues.
- timing (datasets labelled with event times, once the run's event times were predicted): a labelled time the
  run's whole-video score curve puts elsewhere, after the model's own lag is taken off, is proposed to move to
  where the curve peaks (events.timing).

The signals are array functions in `review/signals/`; `review/evidence.py` reads their inputs from the
workspace; this module reads, calls, and keeps one action per sample (`suggestion.one_action_per_sample`).
"""
from __future__ import annotations

from curation.errors import BadInput
from curation.events.stored import newest_prediction
from curation.events.timing import misplaced_times
from curation.ingest.layouts import LAYOUTS
from curation.review import evidence
from curation.review.metrics import LOW_QUANTILE
from curation.review.signals.duplicates import embedding_pairs, duplicate_pairs, frame_neighbours, pair_suggestions
from curation.review.signals.labels import LABEL_ISSUE_Z, aum_issues, contradicted_issues, relabel_clips
from curation.review.signals.outliers import OUTLIER_Z, look_outliers
from curation.review.signals.probe import probe_issues
from curation.review.signals.timing import retime_suggestions
from curation.review.suggestion import Note, Suggestion, Suggestions, one_action_per_sample
from curation.runs.learning import learning_check
from curation.task import VIDEOS

def suggest(ws, run_ref: str, runs: list[str] | None = None, **label_options) -> Suggestions:
    """All proposals for the run's training table, most certain first (a video appears once). With `runs`
    (several runs of one revision: its k-fold runs, or seed repeats), label issues come from all of them
    (`label_issues_of_runs`) instead of the one run's dynamics. Runs that did not learn give no label issues."""
    run = ws.runs.resolve(run_ref)
    notes = []
    check = learning_check(ws.runs.record(run))
    # the run's embeddings, read once for the near-duplicates and the label issues' probe
    described = evidence.embedding_descriptors(ws, run) if check.learned is not False else ({}, {})
    if runs:
        labels = label_issues_of_runs(ws, [ws.runs.resolve(r) for r in runs], notes, **label_options)
    elif check.learned is False:  # its dynamics point at random clips
        labels = []
        notes.append(f"{run} {check.reason}: no label suggestions and no embedding near-duplicates from it; train "
                     "it longer or with other settings, or use fold runs")
    else:
        labels = label_issues(ws, run, described=described, **label_options)
    timing = learned_timing_issues(ws, run, notes, check)
    frames = evidence.FrameDescriptors(ws, ws.runs.record(run).inputs.dataset)
    found = (unreadable_videos(ws, run)
             + near_duplicates(ws, run, frames=frames, notes=notes, described=described) + labels
             + timing + outliers(ws, run, frames=frames))
    return Suggestions(sorted(one_action_per_sample(found), key=lambda s: -s.score), notes)

def label_issues(ws, run: str, threshold: float = LABEL_ISSUE_Z, action: str = "weight",
                 value: str = "0", repeats: list[str] = (), described: tuple | None = None) -> list[Suggestion]:
    """The train videos of the run's table whose own-label AUM is low among their label's (`low_aum_videos`; with
    `repeats`, the clips' AUM averaged over them all). Where the run's start can be rebuilt, these are the suspects
    of a second look: the videos whose label a probe on the run's and its start's features does not prefer
    (`signals.probe`: fitted on the val videos, and with more than two classes the train videos not suspected).
    With action `label`, their clips the model argued with, relabelled (`relabel_clips`); a multi-class video the
    probe read, relabelled whole to the class it prefers.
    Weight 0 by default, in both worlds: relabelling a multi-class run's flagged clips to the class the model
    preferred scored 0.017 below weight 0 on held-out decision draws (bench/README.md, issue 41).
    `described`: the run's `evidence.embedding_descriptors`, when already read."""
    classes = ws.runs.record(run).classes
    clips = _train_clips(ws, [run, *repeats], classes)
    start = evidence.start_features(ws, run)
    multi = len(classes) > 2
    found = aum_issues(clips, threshold, action, value, start if multi else {}, classes)
    if start:  # the first pass's flags are the suspects of a probe's second look
        vectors = (described or evidence.embedding_descriptors(ws, run))[0]
        read, found = probe_issues(evidence.labelled_videos(ws, run), [vectors, start], found, action, value, classes)
        if multi:
            return read + (relabel_clips(clips, found, classes) if action == "label" else found)
        found = read + found  # a binary video's label is a pattern in time: its clips are relabelled
    return relabel_clips(clips, found, classes) if action == "label" else found

def _train_clips(ws, runs: list[str], classes: list):
    """The train clips with their AUM over `runs` (one run and its seed repeats, or fold runs); for more than two
    classes also each clip's class probabilities: which class the model preferred, in a proposal's words and as a
    relabel's target."""
    clips = evidence.train_clip_aum(ws, runs[0], runs[1:])
    return evidence.with_class_probabilities(ws, clips, runs) if len(classes) > 2 else clips

def second_opinion(ws, run: str) -> dict:
    """For a multi-class run, its train videos' features from its start (`evidence.start_features`), the label
    issues' second opinion; none for a binary run, whose videos' labels are patterns in time over their clips."""
    return evidence.start_features(ws, run) if len(ws.runs.record(run).classes) > 2 else {}


def confident_learning(ws, runs: list[str], share: float = LOW_QUANTILE, action: str = "weight",
                       value: str = "0") -> list[Suggestion]:
    """Label issues per video from the k-fold runs' out-of-fold probabilities (labels are given per video, as for
    AUM): a video is flagged when at least `share` of its clips are confidently another class — a stretch of
    contradicted clips, not one odd clip."""
    return contradicted_issues(evidence.out_of_fold_probabilities(ws, runs), share, action, value,
                               ws.runs.record(runs[0]).classes)

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
    classes = records[learned[0]].classes
    clips = _train_clips(ws, learned, classes)
    by_aum = {s.id: s for s in aum_issues(clips, threshold, per_video, value, second_opinion(ws, learned[0]),
                                          classes)}
    by_cl = {}
    if all(f is not None for f in folds) and len(learned) == len(runs):  # out-of-fold needs every fold
        by_cl = {s.id: s for s in confident_learning(ws, runs, action=per_video, value=value)}
    elif any(f is not None for f in folds):
        notes.append("confident learning needs every fold's run to have learned: label issues by AUM only")
    out = []
    for video in sorted(set(by_aum) | set(by_cl)):
        both = [s for s in (by_aum.get(video), by_cl.get(video)) if s is not None]
        out.append(Suggestion(video, "video", action, value, "label issue", "; ".join(s.reason for s in both),
                              max(s.score for s in both), plain=both[0].plain))
    return relabel_clips(clips, out, classes) if action == "label" else out

def near_duplicates(ws, run: str, frames_ratio: float = 0.4, embedding_ratio: float = 0.15,
                    frames: evidence.FrameDescriptors | None = None, notes: list[str] | None = None,
                    embeddings: bool = True, described: tuple | None = None) -> list[Suggestion]:
    """Near-duplicates and leaks by frames and by the run's embeddings (signals.duplicates). Ratios: how much
    closer a pair must be to each other than to their next-nearest video. Embeddings of an early run cluster
    loosely, so they must be much closer to count (`embeddings=False`: frames only, for a run that learned
    nothing). `frames` and `described` (the run's `evidence.embedding_descriptors`; ({}, {}) for frames only): what
    is already read. `notes` collects what could not be judged."""
    notes = [] if notes is None else notes
    dataset = ws.runs.record(run).inputs.dataset
    if described is None:
        described = evidence.embedding_descriptors(ws, run) if embeddings else ({}, {})
    vectors, split_of = described
    split_of = {**evidence.splits(ws, dataset), **split_of}
    frames = frames or evidence.FrameDescriptors(ws, dataset)
    by_frames = frame_neighbours(frames.x, frames.flat, frames.owner, frames.videos)
    return pair_suggestions(duplicate_pairs(by_frames, frames_ratio, "frames", split_of, notes)
                            + embedding_pairs(vectors, embedding_ratio, split_of, notes), split_of)

def outliers(ws, run: str, threshold: float = OUTLIER_Z, neighbours: int = 5,
             frames: evidence.FrameDescriptors | None = None) -> list[Suggestion]:
    """Train and val videos whose look is unlike every other video's (signals.outliers), at weight 0 for review."""
    dataset = ws.runs.record(run).inputs.dataset
    frames = frames or evidence.FrameDescriptors(ws, dataset)
    tests = {v for v, split in evidence.splits(ws, dataset).items() if split == "test"}
    return look_outliers(frames.looks, frames.videos, threshold, neighbours, skip=tests)

def unreadable_videos(ws, run: str) -> list[Suggestion]:
    dataset = ws.runs.record(run).inputs.dataset
    videos = ws.tables.read(ws.task(dataset).head(ws.tables, VIDEOS), ["video_id", "status", "status_reason", "split"])
    return [Suggestion(v["video_id"], "video", "delete", "", "unreadable", f"{v['status']}: {v['status_reason']}",
                       1.0, plain=f"This video could not be read ({v['status']}), so training skips it: delete it, "
                                  "or replace the file and ingest again.")
            for v in videos.to_pylist() if v["status"] != "ok" and v["split"] != "test"]

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
        notes.append(Note(f"event times not checked: predict {run}'s event times on {task.dataset}'s videos first",
                          "predict-events", run))
        return []
    result, curves = found
    videos = ws.tables.read(task.videos_at(ws.tables, record.inputs.videos)).to_pylist()
    labelled = {v["video_id"]: times for v in videos if (times := layout.labelled_times(v))}
    moves, _ = misplaced_times(curves, result["predicted"], labelled, tolerance_s, search_s,
                               evidence.label_patterns(ws, record, videos, curves, search_s))
    return retime_suggestions(moves, labelled)
