"""What the review says in plain words: every signal's proposals carry a sentence a reviewer reads first (the
dashboard's cards lead with it), naming the classes and the partner involved; a clip's line says whether the model
agrees with its label; every signal and the metric columns are explained."""
import numpy as np
import pandas as pd

from curation.events.timing import Retime
from curation.review.signals.duplicates import pair_suggestions
from curation.review.signals.labels import aum_issues, contradicted_issues
from curation.review.signals.outliers import look_outliers
from curation.review.signals.timing import retime_suggestions
from curation.review.suggestion import SIGNALS
from curation.review.words import COLUMN_HELP, SIGNAL_HELP, clip_words, proposal_words


def _aum_clips(labels_of_wrong: int, n_classes: int) -> pd.DataFrame:
    """Ten videos a class held firmly, and video "odd" of class `labels_of_wrong` whose clips the model argued
    with, preferring class 1 (by the clips' probabilities)."""
    rows = []
    for label in range(n_classes):
        for k in range(10):
            rows += [{"clip_id": f"{label}-{k}:{c}", "video_id": f"{label}-{k}", "label": label,
                      "aum": 2.0 + 0.01 * k, "probs": np.eye(n_classes)[label]} for c in range(3)]
    preferred = np.full(n_classes, 0.05)
    preferred[1] = 1 - 0.05 * (n_classes - 1)
    rows += [{"clip_id": f"odd:{c}", "video_id": "odd", "label": labels_of_wrong, "aum": -1.0, "probs": preferred}
             for c in range(3)]
    return pd.DataFrame(rows)


def test_every_signal_proposes_in_plain_words_naming_what_it_saw():
    said = {}
    # label issue, two classes: the other class is the one the model kept predicting
    found = aum_issues(_aum_clips(0, 2), 1.5, "weight", "0", classes=["normal", "crash"])
    assert [s.id for s in found] == ["odd"]
    said["label issue"] = found[0].plain
    assert found[0].plain == "The model kept predicting crash for this video, labelled normal, for most of training."
    # five classes: the class the clips' probabilities preferred, by name
    five = ["run", "walk", "jump", "swim", "climb"]
    found = aum_issues(_aum_clips(3, 5), 1.5, "weight", "0", classes=five)
    assert found[0].plain.startswith("The model kept predicting walk for this video, labelled swim")
    # confident learning on out-of-fold probabilities: how many clips models that never saw it called what
    oof = pd.DataFrame([{"video_id": v, "label": label, "probs": np.eye(3)[p] * 0.8 + 0.2 / 3}
                        for v, label, p in [(f"a{k}", 0, 0) for k in range(5) for _ in range(4)]
                        + [(f"b{k}", 1, 1) for k in range(5) for _ in range(4)]
                        + [(f"c{k}", 2, 2) for k in range(5) for _ in range(4)] + [("x", 2, 1)] * 4])
    found = contradicted_issues(oof, 0.25, "weight", "0", classes=["left", "right", "up"])
    assert [s.id for s in found] == ["x"]
    assert found[0].plain == ("Models that never trained on this video predicted right for 4 of its 4 clips, but it "
                              "is labelled up.")
    # near-duplicates and leaks name the partner, and for a leak the split it leaks into
    pairs = [("t1", "t2", 0.001, 0.05, "frames"), ("t3", "v1", 0.002, 0.05, "frames")]
    found = {s.signal: s for s in pair_suggestions(pairs, {"t1": "train", "t2": "train", "t3": "train",
                                                           "v1": "val"})}
    said["near-duplicate"], said["leak"] = found["near-duplicate"].plain, found["leak"].plain
    assert "t1" in found["near-duplicate"].plain and "near-identical frames" in found["near-duplicate"].plain
    assert found["leak"].plain.startswith("This train video shares near-identical frames with val video v1")
    # an outlier: a look unlike every other video's
    looks = np.vstack([np.random.default_rng(0).normal(0, 1, (20, 8)), np.full((1, 8), 40.0)])
    found = look_outliers(looks, [f"v{k}" for k in range(21)])
    assert [s.id for s in found] == ["v20"]
    said["outlier"] = found[0].plain
    # a labelled time the model puts elsewhere: both times, in seconds
    found = retime_suggestions([Retime("e", 2.0, 3.5, 0.2, 0.9)], {"e": [2.0]})
    said["timing"] = found[0].plain
    assert found[0].plain == ("The model sees the event at 3.50 s, not at the labelled 2.00 s: the labelled time may "
                              "be off.")
    # unreadable videos are said by suggest from the ingest status (checked in the browser test of the cards)
    assert set(said) == set(SIGNALS) - {"unreadable"} and all(said.values())
    assert len(set(said.values())) == len(said)  # each signal its own words


def test_each_signal_and_the_metric_columns_are_explained_and_proposals_say_what_accepting_does():
    assert set(SIGNAL_HELP) == set(SIGNALS) and all(SIGNAL_HELP.values())
    assert {"label", "weight", "aum", "eval_loss", "eval_prob", "margin", "pred", "split"} <= set(COLUMN_HELP)
    assert "leaves it out" in proposal_words("weight", "0") and "nothing is deleted" in proposal_words("weight", "0")
    assert proposal_words("label", "swim") == "Proposed: relabel it as swim."
    assert proposal_words("retime", "2.000:3.500") == "Proposed: move the labelled time to 3.500 s."
    assert "earlier revisions keep it" in proposal_words("delete", "")


def test_a_clips_line_says_whether_the_model_agrees_with_its_label():
    classes = ["normal", "crash"]
    assert clip_words({"label": 0, "pred": 0, "aum": 1.2}, classes) == \
        "The model agrees with this clip's label, normal, and did for most of training."
    assert clip_words({"label": 0, "pred": 1, "aum": -0.7}, classes) == \
        "The model predicts crash for this clip, labelled normal, and preferred another class for most of training."
    assert clip_words({"label": 1, "pred": 1, "aum": -0.2}, classes).endswith(
        "though it preferred another class for most of training.")
    assert clip_words({"label": 1}, classes) == "Labelled crash. Pick a run to see what a model made of it."
    assert clip_words({"label": None}, classes) == "This clip has no label."
    line = clip_words({"label": 0, "pred": 1, "aum": float("nan")}, classes, suggestion="The model kept predicting x.")
    assert line == "Suggested: The model kept predicting x. The model predicts crash for this clip, labelled normal."
