"""What the review shows a person in plain words: each signal and column explained in a sentence (the dashboard's
hover text), what a proposed action does, and what a run made of one clip. The figures behind them stay in each
suggestion's `reason`, one click away."""
from __future__ import annotations

import math

from curation.review.suggestion import SIGNALS

SIGNAL_HELP = {
    "unreadable": "The video file could not be decoded (corrupt, missing or in an unsupported format); training "
                  "skips it.",
    "near-duplicate": "Two videos with near-identical frames: training on both counts the same footage twice.",
    "leak": "A training video nearly identical to a validation or test video: the score would reward remembering "
            "it.",
    "label issue": "The model, trained on this label, kept disagreeing with it, or a classifier on the model's "
                   "features, fitted on videos whose labels are trusted (the validation videos, and with more than "
                   "two classes the training videos not suspected), prefers another class: the label may be wrong.",
    "timing": "The model's score over the video rises at another time than the labelled event time.",
    "outlier": "A video that looks unlike every other (a dead camera, a wrong mount, a broken colour pipeline, or "
               "a rare real scene worth keeping).",
}
assert set(SIGNAL_HELP) == set(SIGNALS)

COLUMN_HELP = {
    "clip_id": "The clip's stable id: its video and the frame it ends on.",
    "video_id": "The video the clip was cut from.",
    "split": "Which set the sample belongs to: train (learned from), val (checked labels that choose the best "
             "epoch) or test (never edited).",
    "label": "The label this revision gives the sample.",
    "weight": "How much the sample counts in training; 0 leaves it out without deleting it.",
    "eval_loss": "The finished model's loss on the clip: high when it disagrees with the label.",
    "eval_prob": "The finished model's probability: of the positive class for two classes, else of its top class.",
    "eval_margin": "The finished model's score for the label minus its best other score: below 0 it prefers "
                   "another class.",
    "margin": "The score for the label minus the best other score, averaged over training: below 0 the model "
              "preferred another class.",
    "aum": "Area under the margin: how firmly the model held the label over all of training; low or negative "
           "values point at a wrong label.",
    "pred": "The class the finished model predicts.",
    "loss": "The clip's mean training loss over the epochs it was drawn in.",
    "prob": "The clip's mean training probability over the epochs it was drawn in.",
    "draws": "How many times training drew the clip.",
    "suggestion": "The signal that proposes an edit of this sample, if any.",
    "suggestion_score": "How certain that proposal is, from 0 to 1.",
    "end_time_s": "The time of the clip's last frame in its video, in seconds.",
    "end_frame": "The index of the clip's last frame in its video.",
}


def class_name(classes: list, k) -> str:
    """A class index as its name (the index itself when the run names no classes)."""
    try:
        k = int(k)
    except (TypeError, ValueError):
        return str(k)
    return str(classes[k]) if 0 <= k < len(classes) else str(k)


def proposal_words(action: str, value: str) -> str:
    """What accepting a proposal does, in a sentence."""
    if action == "delete":
        return "Proposed: delete it from this revision (earlier revisions keep it)."
    if action == "weight":
        if str(value) in ("0", "0.0"):
            return "Proposed: weight 0, so training leaves it out; nothing is deleted and it stays in review."
        return f"Proposed: weight {value} in training."
    if action == "label":
        return f"Proposed: relabel it as {value}."
    if action == "retime":
        return f"Proposed: move the labelled time to {value.split(':')[-1]} s."
    return f"Proposed: {action} {value}".strip() + "."


def label_issue_words(label: str, preferred: str, agreement: float | None = None) -> str:
    """A label issue found by the margin over training (AUM), in words."""
    if preferred:
        said = f"The model kept predicting {preferred} for this video, labelled {label}, for most of training"
    else:
        said = f"The model kept disagreeing with this video's label, {label}, for most of training"
    if agreement is not None and not math.isnan(agreement) and agreement < 0.5:
        said += ", and most of the videos that look like it carry another label"
    return said + "."


def probe_words(label: str, preferred: str, val_only: bool = False) -> str:
    """A label issue found by the probe (signals.probe: fitted without the suspected videos, or on the val videos
    alone), in words."""
    fitted = ("on the checked validation videos" if val_only
              else "on the other videos, leaving out those suspected of wrong labels")
    return f"Read by a classifier fitted {fitted}, this video looks like {preferred}, but it is labelled {label}."


def contradicted_words(label: str, preferred: str, contradicted: int, clips: int) -> str:
    """A label issue found by confident learning on out-of-fold probabilities, in words."""
    other = preferred or "another class"
    return (f"Models that never trained on this video predicted {other} for {contradicted} of its {clips} clips, "
            f"but it is labelled {label}.")


# What the margin over training adds to the finished model's verdict: (agrees now, held the label in training).
OVER_TRAINING = {(True, True): ", and did for most of training",
                 (True, False): ", though it preferred another class for most of training",
                 (False, False): ", and preferred another class for most of training",
                 (False, True): ", though it held the label for most of training"}


def clip_words(row: dict, classes: list, suggestion: str = "") -> str:
    """What the run made of one clip (its row joined with the run's metrics), in a sentence or two; `suggestion`:
    the plain line of a suggestion on the clip or its video, said first."""
    label = row.get("label")
    lead = f"Suggested: {suggestion} " if suggestion else ""
    if label is None or (isinstance(label, float) and math.isnan(label)):
        return lead + "This clip has no label."
    name = class_name(classes, label)
    pred, aum = row.get("pred"), row.get("aum")
    if pred is None:
        return lead + f"Labelled {name}. Pick a run to see what a model made of it."
    agrees = int(pred) == int(label)
    said = (f"The model agrees with this clip's label, {name}" if agrees else
            f"The model predicts {class_name(classes, pred)} for this clip, labelled {name}")
    if aum is not None and not (isinstance(aum, float) and math.isnan(aum)):  # over training, by its AUM
        said += OVER_TRAINING[agrees, aum >= 0]
    return lead + said + "."

