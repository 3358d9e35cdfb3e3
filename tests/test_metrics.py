import math

import numpy as np
import pytest
import torch

from curation.metrics import average_precision, classification_metrics, competition_map
from curation.train.outputs import sample_outputs


def test_competition_map_scores_tau_windows_against_all_negatives():
    # Two positive videos (windows at each tau) and two negative videos (final windows).
    targets = [1, 1, 1, 1, 1, 1, 0, 0]
    windows = ["tau_0.5", "tau_1.0", "tau_1.5", "tau_0.5", "tau_1.0", "tau_1.5", "final", "final"]
    probs = [0.9, 0.8, 0.3, 0.7, 0.6, 0.5, 0.4, 0.2]
    m = competition_map(targets, windows, probs)
    assert m["ap_tau_0.5"] == 1.0 and m["ap_tau_1.0"] == 1.0
    # tau 1.5: positives 0.3 and 0.5, negatives 0.4 and 0.2 → ranking 0.5+, 0.4-, 0.3+, 0.2- → AP = (1 + 2/3) / 2
    assert m["ap_tau_1.5"] == pytest.approx((1 + 2 / 3) / 2)
    assert m["mAP"] == pytest.approx((1 + 1 + (1 + 2 / 3) / 2) / 3)
    assert (m["n_positive_videos"], m["n_negative_videos"]) == (2, 2)
    assert math.isnan(competition_map([0, 0], ["final", "final"], [0.1, 0.2])["mAP"])


def test_average_precision_is_sklearns_with_ties_and_without():
    from sklearn.metrics import average_precision_score  # the definition ours must match

    rng = np.random.default_rng(0)
    for size in (2, 7, 50, 400):
        for round_to in (None, 1):  # rounding makes many scores tie
            target = rng.random(size) < 0.3
            target[0] = True
            scores = rng.random(size)
            scores = np.round(scores, round_to) if round_to else scores
            assert average_precision(target, scores) == pytest.approx(average_precision_score(target, scores))
    assert math.isnan(average_precision([False, False], [0.1, 0.2]))
    with pytest.raises(ValueError, match="finite"):
        average_precision([True, False], [0.5, float("nan")])


def test_classification_metrics_confusion_and_per_class():
    m = classification_metrics([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["confusion"] == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    assert m["per_class_accuracy"] == {"a": 0.5, "b": 1.0, "c": 0.5}
    from sklearn.metrics import f1_score  # an independent implementation

    assert m["macro_f1"] == pytest.approx(f1_score([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], average="macro"))


def test_sample_outputs_binary_and_multiclass():
    out = sample_outputs(torch.tensor([[2.0], [2.0], [0.5]]), torch.tensor([1, 0, -1]), binary=True)
    assert out["margin"][:2].tolist() == [2.0, -2.0] and math.isnan(out["margin"][2].item())
    assert out["prob"][0].item() == pytest.approx(1 / (1 + math.exp(-2)))
    assert out["prob_label"][1].item() == pytest.approx(1 - out["prob"][1].item())
    assert math.isnan(out["loss"][2].item()) and out["pred"].tolist() == [1, 1, 1]
    logits = torch.tensor([[3.0, 1.0, 0.0], [3.0, 1.0, 0.0]])
    multi = sample_outputs(logits, torch.tensor([0, 2]), binary=False)
    assert multi["margin"].tolist() == [2.0, -3.0]  # own logit minus the largest other one
    assert multi["pred"].tolist() == [0, 0]
    assert multi["loss"][1] > multi["loss"][0]
    np.testing.assert_allclose(multi["prob_label"][0].item(), logits.softmax(-1)[0, 0].item(), rtol=1e-6)
    np.testing.assert_allclose(out["probs"][:, 1].numpy(), out["prob"].numpy(), rtol=1e-6)  # binary: [1 - p, p]
    np.testing.assert_allclose(out["probs"].sum(1).numpy(), 1.0, rtol=1e-6)


def test_multiclass_margin_and_probabilities_of_five_classes():
    logits = torch.tensor([[0.5, 2.0, -1.0, 1.5, 0.0],    # label 1 is the top: margin 2.0 - 1.5
                           [0.5, 2.0, -1.0, 1.5, 0.0],    # label 3 is second: 1.5 - 2.0
                           [4.0, 4.0, 0.0, 0.0, 0.0],     # a tie with another class: margin 0
                           [0.0, 0.0, 0.0, 0.0, -3.0]])   # label 4 the lowest: -3 - 0
    out = sample_outputs(logits, torch.tensor([1, 3, 0, 4]), binary=False)
    np.testing.assert_allclose(out["margin"].numpy(), [0.5, -0.5, 0.0, -3.0], atol=1e-6)
    np.testing.assert_allclose(out["probs"].numpy(), logits.softmax(-1).numpy(), rtol=1e-6)
    assert out["pred"].tolist()[:2] == [1, 1] and out["prob"][0].item() == pytest.approx(out["probs"][0].max().item())
