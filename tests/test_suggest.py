"""`curate suggest` proposes, `curate edit --from` applies: duplicates, leaks, corrupt videos, label issues."""
import csv
from pathlib import Path
from collections import Counter

import pytest
from click.testing import CliRunner

from conftest import assert_the_index_proposes_what_every_distance_does, private_copy, tiny_synth
from curation.cli import cli
from curation.ingest.pipeline import IngestOptions, ingest
from curation.ingest.layouts import read_nexar
from curation.review.metrics import clip_metrics, join_metrics
from curation.review.suggest import suggest
from curation.synth import load_truth
from curation.train.config import TrainConfig
from curation.train.loop import train
from curation.workspace import Workspace


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    base = tmp_path_factory.mktemp("suggest")
    tiny_synth(base / "d", seed=6, n_train=14, n_test=4, width=128, height=72, label_noise=0.2, n_duplicates=2,
               n_corrupt=2)
    truth = load_truth(base / "d")
    _scramble(base / "d", truth, _plain_negative(truth))
    ws = Workspace.open(base / "ws", backend="lance")
    ingest(ws, read_nexar(base / "d"), "nexar", IngestOptions(frame_size=64), progress=False)
    run = train(ws, TrainConfig(model="mvit_tiny", weights="none", epochs=2, batch_size=4, workers=0,
                                draws_per_epoch=40), echo=lambda *_: None, progress=False)
    return ws, truth, run


def _plain_negative(truth) -> str:
    """A readable negative train video outside every injected flaw."""
    flawed = set(truth["flipped"]) | set(truth["corrupt"]) | {v for pair in truth["duplicates"] for v in pair}
    return next(v for v, t in sorted(truth["videos"].items())
                if t["split"] == "train" and t["target"] == 0 and v not in flawed)


def _scramble(root, truth, video: str) -> None:
    """Replace a video by itself upside down in negative colours (a camera mounted wrong, a broken colour
    pipeline): readable, same size, rate and length, but unlike every other video."""
    from fractions import Fraction

    import numpy as np

    from curation.frames.video import decode_frames
    from curation.synth import _encode

    path = root / "train" / f"{video}.mp4"
    frames = np.stack([f for _, f in decode_frames(path, range(truth["videos"][video]["n_frames"]))])
    h, w = frames.shape[1:3]
    _encode(path, np.full_like(frames, 16), Fraction(truth["videos"][video]["fps"]).limit_denominator(1000), w, h, 1)
    truth["outlier"] = video


def test_suggestions_find_injected_duplicates_and_corrupt_videos(reviewed):
    ws, truth, run = reviewed
    found = suggest(ws, run)
    by_id = {s.id: s for s in found}
    for source, copy in truth["duplicates"]:
        flagged = {source, copy} & set(by_id)
        assert len(flagged) == 1, (source, copy, [s.reason for s in found])
        s = by_id[flagged.pop()]
        assert s.action == "delete" and "near-duplicate" in s.reason and s.signal in ("near-duplicate", "leak")
        assert (s.signal == "leak") == (truth["videos"][source]["split"] != truth["videos"][copy]["split"])
        assert truth["videos"][s.id]["split"] == "train"  # the test copy of a leak is never touched
    for vid in truth["corrupt"]:
        assert by_id[vid].action == "delete" and by_id[vid].reason.startswith("corrupt") and by_id[vid].score == 1
        assert by_id[vid].signal == "unreadable"
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)


def test_suggestions_find_the_outlier_video_and_only_it(reviewed):
    ws, truth, run = reviewed
    found = [s for s in suggest(ws, run) if s.signal == "outlier"]
    assert all(s.reason.startswith("outlier") for s in found)
    assert [(s.id, s.action, s.value) for s in found] == [(truth["outlier"], "weight", "0")]


def test_metrics_join_by_clip_id_whatever_the_row_order(reviewed):
    import numpy as np

    ws, _, run = reviewed
    clips = ws.tables.read(ws.resolve("clips"))
    metrics = clip_metrics(ws, run)
    rng = np.random.default_rng(0)
    shuffled_clips = clips.take(rng.permutation(clips.num_rows))
    shuffled_metrics = metrics.take(rng.permutation(metrics.num_rows))
    joined = join_metrics(shuffled_clips, shuffled_metrics)
    assert joined.num_rows == clips.num_rows
    expected = {r["clip_id"]: r for r in metrics.to_pylist()}
    labels = dict(zip(clips["clip_id"].to_pylist(), clips["label"].to_pylist()))
    for row in joined.to_pylist():  # each row carries its own clip's label and its own clip's metrics
        assert row["label"] == labels[row["clip_id"]]
        assert (row["aum"], row["loss"]) == (expected[row["clip_id"]]["aum"], expected[row["clip_id"]]["loss"])
    assert len({r["aum"] for r in joined.to_pylist()}) > 1


def test_apply_suggestions_as_one_revision_and_reject_unknown_ids(reviewed, tmp_path):
    ws, truth, run = reviewed
    ws = private_copy(ws, tmp_path)
    edits = tmp_path / "edits.csv"
    runner = CliRunner()
    result = runner.invoke(cli, ["--workspace", str(ws.root), "suggest", "--run", run, "-o", str(edits)])
    assert result.exit_code == 0, result.stderr
    with open(edits) as f:
        signals = Counter(r["signal"] for r in csv.DictReader(f))
    assert signals["unreadable"] == len(truth["corrupt"])  # the summary counts by signal, as the file says
    assert result.stderr.splitlines()[-1].startswith(f"{sum(signals.values())} suggestion(s): "
                                                     + ", ".join(f"{k} {v}" for k, v in signals.items()))
    before = ws.resolve("clips").number
    bad = tmp_path / "bad.csv"
    bad.write_text(edits.read_text() + "99999,video,delete,,unreadable,made up,0.1\n")
    result = runner.invoke(cli, ["--workspace", str(ws.root), "edit", "clips", "--from", str(bad), "-m", "x"])
    assert result.exit_code == 2 and "unknown video" in result.stderr
    assert ws.resolve("clips").number == before  # rejected whole
    result = runner.invoke(cli, ["--workspace", str(ws.root), "edit", "clips", "--from", str(edits),
                                 "-m", "apply suggestions"])
    assert result.exit_code == 0, result.stderr
    head = ws.resolve("clips")
    assert head.number == before + 1
    with open(edits) as f:
        deleted_videos = {r["id"] for r in csv.DictReader(f) if r["action"] == "delete"}
    remaining = set(ws.tables.read(head, ["video_id"])["video_id"].to_pylist())
    assert not deleted_videos & remaining


def test_show_and_edit_over_joined_metrics(reviewed, tmp_path):
    ws, _, run = reviewed
    ws = private_copy(ws, tmp_path)
    runner = CliRunner()
    shown = runner.invoke(cli, ["--workspace", str(ws.root), "show", "clips", "--run", run, "--where",
                                "draws > 0", "--sort", "loss", "--desc", "--csv", "-n", "0",
                                "--columns", "clip_id,loss,aum"])
    assert shown.exit_code == 0, shown.stderr
    rows = list(csv.DictReader(shown.output.splitlines()))
    losses = [float(r["loss"]) for r in rows]
    assert rows and losses == sorted(losses, reverse=True)
    worst = rows[0]["clip_id"]
    before = ws.resolve("clips").number
    result = runner.invoke(cli, ["--workspace", str(ws.root), "edit", "clips", "--run", run, "--where",
                                 f"loss >= {losses[0]}", "--weight", "0.25", "-m", "down-weight the worst"])
    assert result.exit_code == 0, result.stderr
    head = ws.resolve("clips")
    assert head.number == before + 1 and head.counts["reweighted"] >= 1
    weights = dict(zip(*ws.tables.read(head, ["clip_id", "weight"]).to_pydict().values()))
    assert weights[worst] == 0.25
    result = runner.invoke(cli, ["--workspace", str(ws.root), "edit", "clips", "--run", run, "--where",
                                 "loss > 1e9", "--delete", "-m", "nothing"])
    assert result.exit_code == 2 and "no rows" in result.stderr


def test_show_by_video_aggregates_each_videos_clips(reviewed):
    ws, _, run = reviewed
    shown = CliRunner().invoke(cli, ["--workspace", str(ws.root), "show", "clips", "--run", run, "--by", "video",
                                     "--sort", "aum_low", "--csv", "-n", "0"])
    assert shown.exit_code == 0, shown.stderr
    videos = list(csv.DictReader(shown.output.splitlines()))
    clips = join_metrics(ws.tables.read(ws.resolve("clips")), clip_metrics(ws, run)).to_pandas()
    assert sorted(v["video_id"] for v in videos) == sorted(clips["video_id"].unique())
    scored = [float(v["aum_low"]) for v in videos if v["aum_low"]]  # val videos are never trained on
    assert scored and scored == sorted(scored) and not any(v["aum_low"] for v in videos[len(scored):])
    some = videos[0]
    mine = clips[clips["video_id"] == some["video_id"]]
    assert int(some["clips"]) == len(mine) and int(some["positives"]) == int((mine["label"] == 1).sum())
    assert float(some["loss_max"]) == pytest.approx(mine["loss"].max(), rel=1e-5)
    drawn = mine["aum"].dropna().sort_values().to_numpy()  # clips never drawn have no AUM
    lowest = drawn[:max(1, -(-len(drawn) // 4))]
    assert float(some["aum_low"]) == pytest.approx(lowest.mean(), rel=1e-5)
    bad = CliRunner().invoke(cli, ["--workspace", str(ws.root), "show", "clips", "--by", "video", "--sort", "aum"])
    assert bad.exit_code == 2 and "cannot sort by 'aum'" in bad.stderr


def test_label_issues_compare_a_video_with_the_videos_of_its_label():
    import numpy as np
    import pandas as pd

    from curation.review.signals.labels import low_aum_videos

    rows = []
    for k, spread in enumerate(np.linspace(-0.1, 0.1, 12)):  # negatives easy (AUM ~2), positives hard (~-0.5)
        rows += [{"video_id": f"n{k}", "label": 0, "aum": 2.0 + spread} for _ in range(6)]
        # a positive video: early clips negative (their AUM says nothing of the video's label), then positives
        rows += [{"video_id": f"p{k}", "label": int(c >= 4), "aum": 1.5 if c < 4 else -0.5 + spread}
                 for c in range(6)]
    rows += [{"video_id": "n-wrong", "label": 0, "aum": 0.8} for _ in range(6)]  # still > 0, yet far below its label
    rows += [{"video_id": "p-wrong", "label": int(c >= 4), "aum": 1.5 if c < 4 else -2.0} for c in range(6)]
    rows += [{"video_id": "few", "label": 2, "aum": -5.0} for _ in range(6)]  # a label with one video: no verdict
    found = low_aum_videos(pd.DataFrame(rows))
    assert sorted(found.index) == ["n-wrong", "p-wrong"]
    assert found.loc["p-wrong", "aum"] == -2.0 and found.loc["p-wrong", "label"] == 1  # own-label clips only
    assert (found["z"] < -1.5).all()
    assert sorted(low_aum_videos(pd.DataFrame(rows), threshold=100).index) == []


def test_the_final_pass_margin_joins_the_aum_and_the_aum_alone_counts_without_one():
    import numpy as np
    import pandas as pd

    from curation.review.signals.labels import label_margin, low_aum_videos

    rows = [{"video_id": f"v{k}", "label": 0, "aum": 1.0 + 0.01 * k, "eval_margin": 3.0 + 0.01 * k} for k in range(10)]
    rows.append({"video_id": "held-early", "label": 0, "aum": 1.0, "eval_margin": -3.0})  # the finished model disagrees
    clips = pd.DataFrame(rows)
    assert label_margin(clips)[-1] == -1.0 and label_margin(clips)[0] == 2.0
    assert list(low_aum_videos(clips).index) == ["held-early"]
    assert list(low_aum_videos(clips.drop(columns="eval_margin")).index) == []  # by AUM alone it is typical
    clips.loc[clips.video_id == "held-early", "eval_margin"] = np.nan  # no final pass for it: its AUM alone
    assert label_margin(clips)[-1] == 1.0


def test_the_starts_neighbours_are_a_second_opinion_on_a_label():
    import numpy as np
    import pandas as pd

    from curation.review.signals.labels import LABEL_ISSUE_Z, SECOND_OPINION_Z, low_aum_videos, neighbour_agreement

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16)) * 4
    labels = np.repeat([0, 1, 2], 8)
    vectors = centres[labels] + rng.normal(size=(24, 16))
    written = labels.copy()
    written[[3, 12]] = [1, 0]  # two videos that look like their own class, labelled as another
    agreement = neighbour_agreement(vectors, written)
    assert agreement[3] == agreement[12] == 0.0
    assert agreement[np.setdiff1d(np.arange(24), [3, 12])].min() >= 0.6  # a flipped neighbour costs at most 2 of 5

    ids = [f"v{k}" for k in range(24)]
    margin = np.tile(np.linspace(0.5, 1.5, 8), 3)  # the run's margins, spread alike in every label
    margin[[3, 12, 20]] = [0.75, 1.0, 0.0]  # v3 a little low, v12 typical, v20 low (its neighbours agree)
    clips = pd.DataFrame({"video_id": ids, "label": written, "aum": margin})
    start = dict(zip(ids, vectors))
    alone = low_aum_videos(clips)
    assert "v20" in alone.index and not {"v3", "v12"} & set(alone.index)
    found = low_aum_videos(clips, start=start)
    assert {"v3", "v12"} <= set(found.index)  # typical or near it, but every neighbour is another class
    assert "v20" not in found.index  # low, but what it looks like carries its label: not enough on its own
    summed = found["z"] + found["z_agreement"]
    assert (summed < -SECOND_OPINION_Z).all()
    stricter = -summed.max() * LABEL_ISSUE_Z / SECOND_OPINION_Z + 0.01  # a caller's cut-off moves the summed one too
    assert set(low_aum_videos(clips, threshold=stricter, start=start).index) == set(found.index) - {summed.idxmax()}
    partial = {v: x for v, x in start.items() if v != "v20"}  # a video the start could not read: its margin alone
    assert "v20" in low_aum_videos(clips, start=partial).index


def _probe_world(seed: int = 0):
    """60 train and 20 val videos of 4 classes, two feature blocks: in `run` classes 0 and 1 (a look-alike pair)
    are pulled together, as a run taught their flips would; `start` keeps every class apart. Six train labels are
    wrong (each into its look-alike or a neighbour)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    truth = np.tile(np.arange(4), 20)
    centres = rng.normal(size=(4, 12)) * 3
    start = centres[truth] + rng.normal(size=(80, 12))
    run_centres = centres.copy()
    run_centres[1] = run_centres[0] + 0.3 * (run_centres[1] - run_centres[0])  # the pair the run confuses
    run = run_centres[truth] + rng.normal(size=(80, 12))
    written = truth.copy()
    wrong = np.array([0, 5, 10, 15, 22, 41])
    written[wrong] = [1, 0, 1, 2, 3, 0]  # 0 → 1, 1 → 0, ...
    ids = [f"v{k:02d}" for k in range(80)]
    videos = pd.DataFrame({"label": written, "split": ["train"] * 60 + ["val"] * 20}, index=ids)
    videos.loc[videos.split == "val", "label"] = truth[60:]  # a checked val split
    return videos, dict(zip(ids, run)), dict(zip(ids, start)), {ids[k] for k in wrong}


def test_a_probe_fitted_without_the_suspects_finds_the_wrong_labels_and_clears_the_rest():
    from curation.review.signals.probe import probe_issues
    from curation.review.suggestion import Suggestion

    videos, run, start, wrong = _probe_world()
    classes = ["a", "b", "c", "d"]

    def suspect(v):
        return Suggestion(v, "video", "weight", "0", "label issue", "label issue: own-label margin low", 0.5)

    # the first pass caught four of the six, and three correct labels with them
    first = [suspect(v) for v in sorted(wrong)[:4] + ["v30", "v31", "v55"]]
    found, unread = probe_issues(videos, [run, start], first, "weight", "0", classes)
    assert {s.id for s in found} == wrong and not unread  # the two it missed found, the three false alarms cleared
    by_id = {s.id: s for s in found}
    assert "; first pass: own-label margin low" in by_id[sorted(wrong)[0]].reason  # why it was a suspect, too
    assert "own-label margin" not in by_id[sorted(wrong)[-1]].reason
    assert all(0.5 < s.score <= 1 and s.plain for s in found)
    # a video one feature set lacks is not read: it keeps the first pass's verdict, and cannot be newly found
    partial = dict(start)
    del partial["v30"], partial[sorted(wrong)[-1]]
    read, kept = probe_issues(videos, [run, partial], first, "weight", "0", classes)
    assert {s.id for s in read} == wrong - {sorted(wrong)[-1]} and [s.id for s in kept] == ["v30"]
    # as relabels: the whole video, to the class the probe prefers (each planted label's true class)
    relabels, _ = probe_issues(videos, [run, start], first, "label", "0", classes)
    true_class = {v: classes[int(v[1:]) % 4] for v in wrong}  # the world's truth: video k is class k mod 4
    assert {(s.id, s.level, s.action, s.value) for s in relabels} == {(v, "video", "label", c)
                                                                    for v, c in true_class.items()}


def test_a_binary_probe_is_fitted_on_the_checked_val_alone_and_finds_what_the_cleared_train_videos_teach():
    import numpy as np
    import pandas as pd

    from curation.review.signals.probe import probe_issues
    from curation.review.suggestion import Suggestion

    # 100 train and 40 val videos, positive where feature 0 > 0. Sixteen of train's 20 hard negatives (feature 1
    # high: near misses) are marked positive, and the first pass caught only two of them: fitted with the cleared
    # train videos, a probe would learn that a near miss is positive; the checked val says otherwise.
    rng = np.random.default_rng(0)

    def videos_of(positives, negatives, near_misses):
        x = rng.normal(size=(positives + negatives, 6))
        x[:positives, 0] = rng.uniform(1, 3, positives)
        x[positives:, 0] = -rng.uniform(1, 3, negatives)
        x[positives:positives + near_misses, 1] = rng.uniform(2, 3, near_misses)
        return x

    x = np.vstack([videos_of(50, 50, 20), videos_of(20, 20, 8)])
    written = (x[:, 0] > 0).astype(int)
    wrong = np.arange(50, 66)  # train's first 16 near misses
    written[wrong] = 1
    ids = [f"v{k:03d}" for k in range(140)]
    videos = pd.DataFrame({"label": written, "split": ["train"] * 100 + ["val"] * 40}, index=ids)
    run = dict(zip(ids, x + rng.normal(scale=0.3, size=x.shape)))
    start = dict(zip(ids, x + rng.normal(scale=0.6, size=x.shape)))
    first = [Suggestion(ids[k], "video", "weight", "0", "label issue", "label issue: own-label margin low", 0.5)
             for k in wrong[:2]]
    found, unread = probe_issues(videos, [run, start], first, "weight", "0", ["no crash", "crash"])
    flagged = {s.id for s in found}
    planted = {ids[k] for k in wrong}
    assert len(flagged & planted) >= 14 and len(flagged - planted) <= 3 and not unread
    assert all("fitted on the 40 val videos" in s.reason and "validation" in s.plain for s in found)


def test_each_video_is_read_by_a_probe_that_was_not_fitted_on_it():
    import numpy as np

    from curation.review.signals.probe import probe_probabilities

    # more features than videos and random labels: a probe fitted on a video remembers its label, one that was
    # not fitted on it can only guess
    rng = np.random.default_rng(0)
    x, labels = rng.normal(size=(60, 300)), rng.integers(0, 3, 60)
    every = np.arange(60)
    read = probe_probabilities(x, labels, every, every, 3, c=1e4)
    assert (read.argmax(1) == labels).mean() < 0.6  # chance is a third
    from sklearn.linear_model import LogisticRegression
    fitted_on_them = LogisticRegression(C=1e4, max_iter=3000).fit(x, labels)
    assert (fitted_on_them.predict(x) == labels).mean() > 0.95  # what reading them in-sample would have said


def _five_class_probabilities(seed: int = 0):
    """100 samples of 5 classes, 20 each: most predicted as labelled (0.6-0.9 on their label), six planted label
    issues confidently another class, and a few honestly unsure samples that are not issues."""
    import numpy as np

    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(5), 20)
    truth = labels.copy()
    planted = np.array([3, 27, 45, 61, 66, 98])
    truth[planted] = (labels[planted] + np.array([1, 2, 3, 1, 4, 2])) % 5
    probs = rng.uniform(0.0, 0.1, (100, 5))
    probs[np.arange(100), truth] = rng.uniform(0.6, 0.9, 100)
    unsure = np.array([10, 50, 90])  # label kept, but the model is split between it and another class
    probs[unsure] = 0.05
    probs[unsure, labels[unsure]] = 0.45
    probs[unsure, (labels[unsure] + 1) % 5] = 0.4
    return labels, probs / probs.sum(axis=1, keepdims=True), planted


def test_confident_learning_flags_exactly_the_planted_issues_of_five_classes():
    import numpy as np
    from cleanlab.filter import find_label_issues

    from curation.review.signals.labels import confident_label_issues

    labels, probs, planted = _five_class_probabilities()
    flagged = confident_label_issues(labels, probs)
    assert np.flatnonzero(flagged).tolist() == planted.tolist()
    assert flagged.tolist() == find_label_issues(labels, probs).tolist()  # the library, called as documented
    assert not confident_label_issues(labels, np.eye(5)[labels]).any()  # a model that agrees everywhere


def test_confident_learning_flags_videos_with_a_stretch_of_contradicted_clips():
    import numpy as np
    import pandas as pd

    from curation.review.signals.labels import contradicted_videos

    # eight clips per video of three classes; "b" has one odd clip, "c" two of eight (a quarter), "d" is a class-2
    # video whose clips the model calls class 1; the rest set what the classes look like
    def clips_of(video, label, predicted):
        return [{"video_id": video, "label": label, "probs": np.eye(3)[p] * 0.8 + 0.2 / 3} for p in predicted]

    rows = clips_of("a", 0, [0] * 8) + clips_of("b", 0, [0] * 7 + [1]) + clips_of("c", 0, [0] * 6 + [2] * 2)
    for k in range(4):
        rows += clips_of(f"one{k}", 1, [1] * 8) + clips_of(f"two{k}", 2, [2] * 8) + clips_of(f"zero{k}", 0, [0] * 8)
    rows += clips_of("d", 2, [1] * 8)
    clips = pd.DataFrame(rows)
    found = contradicted_videos(clips)
    assert sorted(found.index) == ["c", "d"]
    assert found.loc["c", "contradicted"] == 2 and found.loc["c", "share"] == 0.25 and found.loc["d", "share"] == 1.0
    flags = clips["video_id"].isin(["a"]).to_numpy()  # another method's clip flags, judged by the same rule
    assert sorted(contradicted_videos(clips, issue=flags).index) == ["a"]


def test_relabels_go_to_the_class_the_model_preferred():
    import numpy as np
    import pandas as pd

    from curation.review.signals.labels import relabel_clips
    from curation.review.suggestion import Suggestion

    classes = ["run", "walk", "jump", "swim", "climb"]
    probs = {"v:1": [0.05, 0.1, 0.05, 0.7, 0.1], "v:2": [0.1, 0.05, 0.05, 0.2, 0.6], "v:3": [0.1, 0.6, 0.1, 0.1, 0.1],
             "w:1": [0.1, 0.1, 0.1, 0.6, 0.1]}
    clips = pd.DataFrame([
        {"clip_id": "v:1", "video_id": "v", "label": 1, "aum": -1.2, "probs": np.array(probs["v:1"])},
        {"clip_id": "v:2", "video_id": "v", "label": 1, "aum": -0.4, "probs": np.array(probs["v:2"])},
        {"clip_id": "v:3", "video_id": "v", "label": 1, "aum": 0.3, "probs": np.array(probs["v:3"])},  # agreed
        {"clip_id": "w:1", "video_id": "w", "label": 0, "aum": -2.0, "probs": np.array(probs["w:1"])},  # not flagged
    ])
    flagged = [Suggestion("v", "video", "weight", "0", "label issue", "low AUM", 0.7)]
    out = {s.id: s.value for s in relabel_clips(clips, flagged, classes)}
    assert out == {"v:1": "swim", "v:2": "climb"}
    # the model's top class is the label itself: the preferred class is the best of the others
    clips.loc[0, "probs"] = np.array([0.05, 0.6, 0.05, 0.2, 0.1])
    assert {s.id: s.value for s in relabel_clips(clips, flagged, classes)}["v:1"] == "swim"


def test_report_is_a_page_with_plots_and_frame_strips(reviewed, tmp_path):
    from curation.review.report import write_report

    ws, _, run = reviewed
    page = Path(write_report(ws, run, tmp_path / "r.html", worst=5)).read_text()
    assert run in page and "lowest area under the margin" in page
    assert page.count("data:image/png;base64,") >= 5 + 2  # 5 strips, curves and maps


def test_collection_keys_round_trip_whatever_the_table_name():
    from curation.errors import BadInput
    from curation.runs.protocol import CollectionKey

    for key in (CollectionKey("clips", 3), CollectionKey("my-clips", 12, "epoch4"),
                CollectionKey("qa-test", 1, "last"), CollectionKey("clips", 1, "last", "hold-out.v2")):
        assert CollectionKey.parse(str(key)) == key
    assert str(CollectionKey("my-clips", 2)) == "my-clips@2" and not CollectionKey.parse("my-clips@2").tag

    class Revision:  # what `of` reads of a revision
        dataset, table, number = "holdout", "clips", 1

    assert str(CollectionKey.of(Revision(), home="holdout")) == "clips@1"  # a run's own dataset: no prefix
    assert str(CollectionKey.of(Revision(), "last", home="nexar")) == "holdout+clips@1-last"
    for bad in ("clips", "clips@", "clips@x", "@3", "holdout+@3"):
        with pytest.raises(BadInput):
            CollectionKey.parse(bad)


def _embedding_suggestions(vectors: dict, split_of: dict | None = None):
    from curation.review.signals.duplicates import embedding_pairs

    notes = []
    pairs = embedding_pairs(vectors, 0.15, split_of or dict.fromkeys(vectors, "train"), notes)
    return {(a, b): (d, second) for a, b, d, second, _ in pairs}, notes


def test_near_duplicates_by_embedding_survive_coinciding_and_broken_embeddings():
    import numpy as np

    rng = np.random.default_rng(0)
    spread = {f"v{k}": rng.normal(size=8) for k in range(6)}
    assert _embedding_suggestions(spread) == ({}, [])  # unrelated videos: nothing to say

    same = dict.fromkeys([f"v{k}" for k in range(6)], np.ones(8))  # all equal: nothing tells copies apart
    pairs, notes = _embedding_suggestions(same)
    assert pairs == {} and len(notes) == 1 and "all 6 videos coincide by embeddings" in notes[0]

    all_but_one = {**dict.fromkeys(["v0", "v1", "v2", "v3"], np.ones(8)), "odd": -np.ones(8)}
    pairs, notes = _embedding_suggestions(all_but_one, {"v0": "train", "v1": "train", "v2": "test", "v3": "val",
                                                        "odd": "train"})
    # the copies go, the test copy stays (and is never edited), each paired with it at distance 0
    assert pairs == {("v2", "v0"): (0.0, 0.0), ("v2", "v1"): (0.0, 0.0), ("v2", "v3"): (0.0, 0.0)}
    assert notes == []

    broken = {**spread, "nan": np.full(8, np.nan), "inf": np.array([np.inf] + [0.0] * 7)}
    pairs, notes = _embedding_suggestions({**broken, "copy": spread["v0"] * 1.000001})
    assert list(pairs) == [("copy", "v0")] and pairs["copy", "v0"][0] < 1e-6  # the rest still compared
    assert len(notes) == 1 and notes[0].startswith("2 video(s) have embeddings that are not finite")


def test_near_duplicate_suggestions_from_identical_copies_keep_one_and_score_them(reviewed, monkeypatch):
    """Through `suggest`: a run whose embeddings coincide for three videos proposes two deletions (certainty 1),
    the CLI prints the edit file, and a run whose embeddings all coincide says so instead of failing."""
    import numpy as np

    from curation.review import evidence
    from curation.review import suggest as module

    ws, truth, run = reviewed
    vectors, split_of = evidence.embedding_descriptors(ws, run)
    # the fixture's run learned nothing, and embeddings of such a run are not read: judge these as a learned run's
    from curation.runs.learning import LearningCheck

    monkeypatch.setattr(module, "learning_check", lambda record: LearningCheck(True, "learned"))
    flawed = set(truth["corrupt"]) | {v for pair in truth["duplicates"] for v in pair} | {truth["outlier"]}
    train = sorted(v for v in vectors if split_of[v] == "train" and v not in flawed)[:3]
    copies = {**vectors, **dict.fromkeys(train, np.full_like(vectors[train[0]], 7.0))}
    monkeypatch.setattr(evidence, "embedding_descriptors", lambda *_: (copies, split_of))
    by_embedding = {s.id: s for s in module.suggest(ws, run) if "by embeddings" in s.reason}
    assert set(by_embedding) == set(train[1:]) and all(s.score == 1.0 and s.partner == train[0]
                                                       for s in by_embedding.values())

    flat = dict.fromkeys(vectors, np.zeros_like(vectors[train[0]]))
    monkeypatch.setattr(evidence, "embedding_descriptors", lambda *_: (flat, split_of))
    result = CliRunner().invoke(cli, ["--workspace", str(ws.root), "suggest", "--run", run])
    assert result.exit_code == 0, result.output
    assert "note: all" in result.stderr and "coincide by embeddings" in result.stderr
    assert result.stdout.startswith("id,level,action,value,signal,reason,score")


def test_identical_float32_descriptors_group_and_a_near_copy_does_not():
    """The frames pass computes in float32: copies differ there by rounding (up to 6e-7), which the tolerance
    of float32 covers, while a re-encoded copy (noise) stays a pair to judge, not an identical group."""
    import numpy as np

    from curation.review.signals.duplicates import (cosine_distances, identical_groups, identical_within, unit_rows,
                                                    vector_neighbours)

    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 1024)).astype(np.float32)
    x[7] = x[20] = x[3]
    x[30] = x[11] + 0.05 * rng.normal(size=1024).astype(np.float32)
    unit, flat = unit_rows(x)
    dist = cosine_distances(unit, flat, unit, flat)
    assert unit.dtype == dist.dtype == np.float32
    for exact in (True, False):  # every distance, and the index's
        near = vector_neighbours(x, [f"v{k:02d}" for k in range(40)], exact=exact)
        assert near.distance.dtype == np.float32
        assert identical_groups(near) == [["v03", "v07", "v20"]]
    assert dist[11, 30] > 100 * identical_within(np.float32) and identical_within(np.float64) < 1e-13


def test_a_run_that_did_not_learn_gives_no_label_suggestions(reviewed):
    """The fixture's run (2 epochs of 40 draws) learns nothing: suggest says so instead of proposing label edits
    from its dynamics, and still finds what needs no model (unreadable files, copies by their frames)."""
    from curation.runs.learning import learning_check

    ws, truth, run = reviewed
    check = learning_check(ws.runs.record(run))
    assert check.learned is False and check.reason.startswith("did not learn")
    found = suggest(ws, run)
    assert not [s for s in found if s.signal == "label issue"]
    assert any(note.startswith(f"{run} did not learn") and "no label suggestions" in note for note in found.notes)
    assert {s.id for s in found if s.signal == "unreadable"} == set(truth["corrupt"])
    assert all("by embeddings" not in s.reason for s in found)


def test_learning_check_reads_val_metric_against_chance_and_loss_against_a_constant_guess():
    from curation.runs.learning import constant_loss, learning_check
    from curation.runs.record import RunInputs, RunRecord

    def record(best, loss, chance=0.5, constant=0.6):
        epoch = {"epoch": 1, "train_loss": loss, "val_chance": chance, "constant_loss": constant}
        return RunRecord(run="r", config={}, inputs=RunInputs("d", "clips", 1, "clips@1", "f"), metric="mAP",
                         epochs=[epoch], best={"epoch": 1, "metric": "mAP", "value": best})

    assert learning_check(record(0.9, 0.3)).learned is True
    assert learning_check(record(0.9, 0.59)).learned is False  # a lucky val score, loss at the class prior
    assert learning_check(record(0.6, 0.3)).learned is False  # not a third of the way from chance to 1
    assert learning_check(record(0.7, 0.3, chance=0.2)).learned is True
    assert learning_check(record(0.9, 0.3, chance=None)).learned is True  # no val score: the loss decides
    assert learning_check(record(0.9, 0.59, chance=None)).learned is False
    assert learning_check(record(0.9, 0.3, chance=None, constant=None)).learned is None
    assert constant_loss([0, 0, 1, 1], 2) == pytest.approx(0.6931, abs=1e-4)
    assert constant_loss([1, 1, 1], 2) == 0.0 and constant_loss([-1], 2) is None


def test_relabels_change_only_the_clips_of_flagged_videos_the_model_argued_with():
    """A flipped Nexar negative (labelled positive: a window of positive clips the model argues with) gets those
    clips back to negative; a flipped positive (labelled negative) gets only its alert clips, which the model
    called positive, relabelled; an unflagged video's argued clip and a flagged video's agreed clips stay."""
    import numpy as np
    import pandas as pd

    from curation.review.signals.labels import relabel_clips
    from curation.review.suggestion import Suggestion

    clips = pd.DataFrame(
        [{"clip_id": f"fn{c}", "video_id": "fn", "label": int(c >= 3), "aum": 1.2 if c < 3 else -0.8} for c in range(5)]
        + [{"clip_id": f"fp{c}", "video_id": "fp", "label": 0, "aum": 1.0 if c < 3 else -1.5} for c in range(5)]
        + [{"clip_id": f"ok{c}", "video_id": "ok", "label": 0, "aum": -0.3 if c == 0 else 2.0} for c in range(5)])
    flagged = [Suggestion(v, "video", "label", "", "label issue", f"{v} is odd", 0.7) for v in ("fn", "fp")]
    relabels = relabel_clips(clips, flagged, ["no collision", "collision"])
    assert {(s.id, s.value) for s in relabels} == {("fn3", "no collision"), ("fn4", "no collision"),
                                                   ("fp3", "collision"), ("fp4", "collision")}
    assert all(s.level == "clip" and s.action == "label" and s.score == 0.7 and "odd" in s.reason for s in relabels)
    # more classes: the most probable class other than the label, from the final pass's probabilities
    probs = [np.array([0.1, 0.3, 0.6])] * 5 + [np.array([0.7, 0.2, 0.1])] * 5 + [np.array([0.2, 0.7, 0.1])] * 5
    three = clips.assign(probs=probs)
    assert {(s.id, s.value) for s in relabel_clips(three, flagged, ["a", "b", "c"])} == {
        ("fn3", "c"), ("fn4", "c"), ("fp3", "b"), ("fp4", "b")}
    assert relabel_clips(clips, flagged, ["a", "b", "c"]) == []  # no probabilities: no class to propose


def test_a_suggestion_file_never_holds_two_actions_for_one_video(reviewed, tmp_path):
    """A near-duplicate that is also a label issue under `--label-action label`: delete the video and relabel its
    clips in one file is refused by `edit --from`; suggest's merge keeps the first signal's action alone, names
    the other in its reason, and leaves another video's relabels whole."""
    from curation.errors import CurateError
    from curation.review.suggestion import Suggestion, one_action_per_sample, to_csv
    from curation.tables.requests import edit_from_file
    from curation.task import SAMPLES

    ws, truth, run = reviewed
    head = ws.task().head(ws.tables, SAMPLES)
    clips = ws.tables.read(head, ["clip_id", "video_id", "split"]).to_pandas()
    train = clips[clips.split == "train"].groupby("video_id")["clip_id"].apply(sorted)
    (dup, dup_clips), (other, other_clips) = [(v, c) for v, c in train.items() if len(c) >= 2][:2]
    found = ([Suggestion(dup, "video", "delete", "", "near-duplicate", "a copy of another video", 1.0)]
             + [Suggestion(c, "clip", "label", "collision", "label issue", "AUM low", 0.6, video=v)
                for v, cs in ((dup, dup_clips[:2]), (other, other_clips[:2])) for c in cs])
    both = tmp_path / "both.csv"
    both.write_text(to_csv(found))
    with pytest.raises(CurateError):
        edit_from_file(ws.tables, head, both)

    merged = one_action_per_sample(found)
    assert [(s.id, s.action) for s in merged] == [(dup, "delete")] + [(c, "label") for c in other_clips[:2]]
    assert merged[0].reason.endswith("; also label issue") and merged[1].reason == "AUM low"
    one = tmp_path / "one.csv"
    one.write_text(to_csv(merged))
    edit = edit_from_file(ws.tables, head, one)
    assert edit is not None


def test_the_index_finds_what_every_distance_finds(reviewed, monkeypatch):
    """On the fixture's videos (copies, a re-encoded copy, an outlier) the index proposes what every distance does
    (the retimed Nexar workspace of test_events checks the same)."""
    ws, truth, run = reviewed
    every = assert_the_index_proposes_what_every_distance_does(ws, run, monkeypatch)
    assert {"near-duplicate", "outlier"} <= {signal for _, _, _, signal, _ in every}
