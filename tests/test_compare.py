"""`curate compare`: the paired bootstrap over videos covers a known difference at its nominal rate and resamples
whole videos; runs are scored on one pinned set that an edit of val clips does not move; seed repeats form a
group; runs of different tasks are refused."""
import json
import math

import numpy as np
import pytest

from conftest import assert_one_line_error, curate, tiny_synth
from curation.errors import BadInput
from curation.review.compare import compare, interval, paired_bootstrap
from curation.workspace import Workspace

TINY = ["--model", "mvit_tiny", "--weights", "none", "--epochs", "1", "--batch-size", "4", "--workers", "0",
        "--draws", "16"]


def _simulate(rng, videos: int, shift: float, clips: tuple[int, int] = (2, 7)):
    """Per-clip correctness of two runs on videos of random difficulty (clips of a video are correlated): run B
    is `shift` better on the logit scale."""
    difficulty = rng.normal(0, 1.5, videos)
    sizes = rng.integers(*clips, videos)
    video_of = np.repeat(np.arange(videos), sizes)
    base = 0.3 + difficulty[video_of]
    a = (rng.random(len(video_of)) < 1 / (1 + np.exp(-base))).astype(float)
    b = (rng.random(len(video_of)) < 1 / (1 + np.exp(-(base + shift)))).astype(float)
    return video_of, a, b


def _accuracy(idx, correct):
    return float(correct[idx].mean())


def test_the_interval_covers_a_known_difference_at_its_nominal_rate():
    rng = np.random.default_rng(0)
    shift = 0.5
    # the true difference of accuracies: clip-weighted over the population of videos (as the metric weights clips)
    population, pa, pb = _simulate(np.random.default_rng(1), 200_000, shift)
    truth = pb.mean() - pa.mean()
    covered = 0
    for _ in range(200):
        videos, a, b = _simulate(rng, 40, shift)
        draws = paired_bootstrap(videos, [[a], [b]], _accuracy, samples=400, seed=int(rng.integers(1 << 30)))
        low, high = interval(draws[:, 1] - draws[:, 0])
        covered += low <= truth <= high
    assert covered >= 0.9 * 200, covered


def test_a_draw_resamples_whole_videos_the_same_for_every_run():
    videos = np.array(["a"] * 3 + ["b"] * 5 + ["c"] * 2)
    seen = []

    def record(idx, scores):
        seen.append((tuple(sorted(idx)), scores[0]))
        return 0.0

    paired_bootstrap(videos, [[np.zeros(10)], [np.ones(10)]], record, samples=50)
    size = {"a": 3, "b": 5, "c": 2}
    for (idx, _), (idx_b, _) in zip(seen[::2], seen[1::2]):
        assert idx == idx_b  # paired: both runs see the same draw
        counts = {v: sum(videos[i] == v for i in idx) for v in size}
        assert all(counts[v] % size[v] == 0 for v in size)  # a video comes with all its clips, or not at all
        assert sum(counts[v] // size[v] for v in size) == 3  # as many videos as there are


def test_paired_seeds_cancel_a_swing_the_seeds_share_and_unpaired_ones_do_not():
    """Two arms whose run i shares seed i: B is A plus 0.1 on every clip, with a large swing by seed. Paired, every
    draw's B − A is exactly 0.1; drawn apart, the seeds' swing spreads it."""
    videos = np.repeat(np.arange(20), 3)
    swing = [0.0, 0.5, -0.4, 0.3]
    a = [np.full(len(videos), 0.2 + s) for s in swing]
    b = [x + 0.1 for x in a]

    def mean(idx, scores):
        return float(scores[idx].mean())

    paired = paired_bootstrap(videos, [a, b], mean, samples=200, paired_seeds=True)
    assert np.allclose(paired[:, 1] - paired[:, 0], 0.1)
    apart = paired_bootstrap(videos, [a, b], mean, samples=200)
    assert np.std(apart[:, 1] - apart[:, 0]) > 0.1


@pytest.fixture(scope="module")
def edited(tmp_path_factory):
    """Run A on clips@1; an edit deleting val clips (clips@2); two seed repeats B on clips@2."""
    from curation.ingest.pipeline import IngestOptions, ingest
    from curation.ingest.layouts import read_nexar

    root = tmp_path_factory.mktemp("compare")
    tiny_synth(root / "data", seed=11, n_train=16, n_test=2)
    ws = Workspace.open(root / "ws", backend="lance")
    ingest(ws, read_nexar(root / "data"), "nexar", IngestOptions(frame_size=32, val_fraction=0.5), progress=False)
    assert curate("-w", ws.root, "train", *TINY, "--name", "a").returncode == 0
    val = ws.tables.read(ws.resolve("clips@1")).to_pandas().query("split == 'val' and eval_window.notna()")
    doomed = val.groupby("video_id")["clip_id"].first().tolist()[:2]
    edit = curate("-w", ws.root, "edit", "clips", "--delete", ",".join(doomed), "-m", "drop two val clips")
    repeat = curate("-w", ws.root, "train", *TINY, "--repeat", "2", "--seed", "5", "--name", "b")
    assert repeat.returncode == 0, repeat.stderr
    return ws, doomed, edit


@pytest.mark.slow  # three training runs through the command line
def test_an_edit_of_val_clips_warns_and_does_not_move_the_set(edited):
    ws, doomed, edit = edited
    assert edit.returncode == 0 and "2 val clip(s)" in edit.stderr
    a, b1, b2 = ws.runs.runs()
    assert [ws.runs.record(r).inputs.revision for r in (a, b1, b2)] == [1, 2, 2]
    assert ws.runs.record(b1).group == ws.runs.record(b2).group == b1
    calls = []

    def counting_collect(w, run, ref, checkpoint):
        from curation.train.collect import collect

        calls.append((run, ref, checkpoint))
        return collect(w, run, ref, checkpoint, progress=False)

    result = compare(ws, [a, b1, b2], samples=300, collect=counting_collect)
    assert result["set"]["table"] == "nexar/clips@1" and "earliest" in result["set"]["why"]
    val = ws.tables.read(ws.resolve("clips@1")).to_pandas().query("split == 'val' and eval_window.notna()")
    assert result["set"]["clips"] == len(val) and set(doomed) <= set(val["clip_id"])  # the deleted clips still count
    # B's own pass lacks the deleted clips: one pass each with the model their final pass used (the last)
    assert sorted(calls) == [(b1, "nexar/clips@1", "last"), (b2, "nexar/clips@1", "last")]
    last_epoch_val = ws.runs.record(a).epochs[-1]["val"]["mAP"]  # A's own final pass: its last epoch's model
    assert result["groups"][0]["value"] == pytest.approx(last_epoch_val, abs=1e-6)
    assert [g["runs"] for g in result["groups"]] == [[a], [b1, b2]]
    group = result["groups"][1]
    assert group["value"] == pytest.approx(np.mean(group["seeds"])) and group["seed_sd"] is not None
    d = result["differences"][0]
    assert d["difference"] == pytest.approx(group["value"] - result["groups"][0]["value"])
    assert d["interval"][0] <= d["interval"][1]
    # A is one run: how far another seed would move it is unmeasured, so no P(better) is given as if it were
    assert d["p_b_better"] is None and d["seed_variance"].startswith("unmeasured")
    repeats = compare(ws, [], samples=300, groups={"A+B1": [a, b1], "B": [b1, b2]}, collect=counting_collect)
    assert 0 <= repeats["differences"][0]["p_b_better"] <= 1 and repeats["differences"][0]["seed_variance"] == "measured"
    with pytest.raises(BadInput, match="same seeds"):  # A was trained with seed 0, B's runs with 5 and 6
        compare(ws, [], samples=10, groups={"A": [a, a], "B": [b1, b2]}, paired_seeds=True)
    assert d["revision_diff"] == {"added": 0, "deleted": 2, "reweighted": 0, "relabeled": 0}
    again = compare(ws, [a, b1, b2], samples=300, collect=counting_collect)
    assert len(calls) == 2 and again["groups"][1]["value"] == group["value"]  # the passes were kept in the runs


@pytest.mark.slow  # three training runs through the command line
def test_the_command_prints_json_a_plot_and_groups(edited, tmp_path):
    ws, _, _ = edited
    a, b1, b2 = ws.runs.runs()
    out = curate("-w", ws.root, "compare", a, b1, b2, "--samples", "200", "--json", "--plot", tmp_path / "c.png")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout[out.stdout.index("{"):])
    assert [len(g["runs"]) for g in result["groups"]] == [1, 2] and not math.isnan(result["groups"][0]["value"])
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    text = curate("-w", ws.root, "compare", a, b1, "--samples", "200")  # one run a side: no verdict
    line = next(x for x in text.stdout.splitlines() if "→" in x)
    assert "scored on" in text.stdout and "P(better)" not in text.stdout
    assert "inconclusive: seed variance unmeasured" in line and "better" not in line
    runs = curate("-w", ws.root, "runs").stdout
    values = [ws.runs.record(r).best_value for r in (b1, b2)]
    if None not in values:
        assert f"group {b1}: 2 seeds" in runs


@pytest.mark.slow  # three training runs through the command line
def test_one_group_and_different_tasks_are_refused(edited, tmp_path):
    import shutil

    ws, _, _ = edited
    a, b1, b2 = ws.runs.runs()
    assert_one_line_error(curate("-w", ws.root, "compare", b1, b2), "seed repeats")
    copy = tmp_path / "ws"
    shutil.copytree(ws.root, copy)
    record = json.loads((copy / "runs" / b1 / "run.json").read_text())
    record["classes"], record["task"] = ["a", "b", "c"], "multiclass"
    (copy / "runs" / b1 / "run.json").write_text(json.dumps(record))
    assert_one_line_error(curate("-w", copy, "compare", a, b1), "different tasks")
    assert_one_line_error(curate("-w", ws.root, "compare", a, "run-0099"), "unknown run")


@pytest.mark.slow  # three training runs through the command line
def test_event_times_are_compared_paired_over_videos_once_every_run_predicted_them(edited, tmp_path):
    from conftest import private_copy
    from curation.events.predict import predict_events
    from curation.events.times import event_metrics

    from curation.train.collect import collect

    ws = private_copy(edited[0], tmp_path)
    a, b1, b2 = ws.runs.runs()
    passes = lambda w, run, ref, checkpoint: collect(w, run, ref, checkpoint, progress=False)  # noqa: E731
    before = compare(ws, [a, b1, b2], samples=200, collect=passes)
    assert before["events"] is None and a in before["notes"][0]  # nobody predicted times yet: said, not guessed
    for run in (a, b1, b2):
        predict_events(ws, run, "clips@1", step_frames=12, progress=False, splits=("val",))
    result = compare(ws, [a, b1, b2], samples=300, collect=passes)
    events = result["events"]["metrics"]["event_f1@0.5s"]
    videos = ws.tables.read(ws.tables.revision("nexar", "videos", ws.runs.record(a).inputs.videos["revision"]))
    val = {v["video_id"]: [v["time_of_event"]] if v["target"] == 1 else [] for v in videos.to_pylist()
           if v["split"] == "val" and v["video_id"] in _set_videos(ws)}
    assert result["events"]["videos"] == len(val)
    f1 = {}
    for run in (a, b1, b2):  # each run's F1 recomputed from its stored prediction over the set's videos
        predicted = next(r for k, r in ws.runs.record(run).evaluations.items() if k.startswith("events:"))["predicted"]
        f1[run] = event_metrics({v: predicted[v] for v in val}, val, (0.5,))["event_f1@0.5s"]
    assert events["groups"][0]["value"] == pytest.approx(f1[a])
    assert events["groups"][1]["value"] == pytest.approx((f1[b1] + f1[b2]) / 2)
    d = events["differences"][0]
    assert d["difference"] == pytest.approx((f1[b1] + f1[b2]) / 2 - f1[a]) and d["p_b_better"] is None
    assert d["interval"][0] <= d["difference"] <= d["interval"][1] or d["interval"][0] == d["interval"][1]
    text = curate("-w", ws.root, "compare", a, b1, b2, "--samples", "200").stdout
    assert f"event times on {len(val)} videos" in text and "event_f1@0.5s:" in text


def _set_videos(ws) -> set[str]:
    """The videos of the val clips compare scores on (those of clips@1 with an evaluation window)."""
    clips = ws.tables.read(ws.resolve("clips@1")).to_pandas().query("split == 'val' and eval_window.notna()")
    return set(clips["video_id"])
