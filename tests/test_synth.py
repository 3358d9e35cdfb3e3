"""Tests for curation.synth: layout, labels, noise, duplicates, corrupt files and visible content."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from curation import synth
from curation.errors import BadInput
from curation.frames.video import DecodeError, decode_frames, probe_video

W, H = 96, 64
TINY = dict(width=W, height=H, duration_s=3.0, test_duration_s=3.0, progress=False)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def video_path(out, truth, vid):
    return out / truth["videos"][vid]["split"] / f"{vid}.mp4"


def frames(path, idx):
    return np.stack([f for _, f in decode_frames(path, list(idx))]).astype(np.float32)


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    """Label noise, duplicates and corrupt files, all at once (rendered by worker threads)."""
    out = tmp_path_factory.mktemp("synth") / "noisy"
    summary = synth.generate(out, n_train=10, n_test=4, label_noise=0.25, n_duplicates=2, n_corrupt=3, seed=7, **TINY)
    return out, summary, synth.load_truth(out)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """No noise of any kind: every train video is readable and labelled truthfully."""
    out = tmp_path_factory.mktemp("synth") / "clean"
    synth.generate(out, n_train=8, n_test=4, seed=3, workers=1, **TINY)
    return out, synth.load_truth(out)


def test_layout_and_headers(noisy):
    out, summary, _ = noisy
    assert sorted(p.name for p in out.iterdir()) == sorted(synth.LAYOUT)
    assert (out / "train.csv").read_text().splitlines()[0] == "id,time_of_event,time_of_alert,target"
    assert (out / "test.csv").read_text().splitlines()[0] == "id"
    assert (out / "sample_submission.csv").read_text().splitlines()[0] == "id,target"

    train, test, sub = read_csv(out / "train.csv"), read_csv(out / "test.csv"), read_csv(out / "sample_submission.csv")
    assert len(train) == 10 and len(test) == 4
    assert [r["id"] for r in train] == sorted(r["id"] for r in train)
    assert [r["id"] for r in test] == sorted(r["id"] for r in test)
    assert [r["id"] for r in sub] == [r["id"] for r in test]
    assert {r["target"] for r in sub} == {"0.5"}
    assert sorted(p.stem for p in (out / "train").iterdir()) == [r["id"] for r in train]
    assert sorted(p.stem for p in (out / "test").iterdir()) == [r["id"] for r in test]
    assert summary["n_train"] == 10 and summary["n_test"] == 4
    assert not list(out.parent.glob(".noisy.synth-*"))  # no temp dirs left behind


def test_ids_are_unique_five_digit_strings(noisy):
    out, _, truth = noisy
    ids = [r["id"] for r in read_csv(out / "train.csv")] + [r["id"] for r in read_csv(out / "test.csv")]
    assert all(len(i) == 5 and i.isdigit() for i in ids)
    assert len(set(ids)) == len(ids) == 14
    assert set(ids) == set(truth["videos"])


def test_videos_decode_with_recorded_fps_and_length(noisy):
    out, _, truth = noisy
    readable = [v for v in truth["videos"] if v not in truth["corrupt"]]
    assert len(readable) == 11
    for vid in readable:
        gt = truth["videos"][vid]
        info = probe_video(video_path(out, truth, vid))
        assert abs(info.fps - gt["fps"]) < 0.05
        assert abs(info.n_frames - gt["n_frames"]) <= 1
        assert 24 <= gt["fps"] <= 31
        assert (info.height, info.width) == (H, W)


def test_times_are_consistent(noisy):
    out, _, truth = noisy
    for gt in truth["videos"].values():
        duration = gt["n_frames"] / gt["fps"]
        if not gt["target"]:
            assert gt["time_of_event"] is None and gt["time_of_alert"] is None
        elif gt["split"] == "train":
            assert 0.25 <= gt["time_of_alert"] < gt["time_of_event"] < duration
            assert gt["tau"] is None
    for row in read_csv(out / "train.csv"):
        if row["target"] == "0":
            assert row["time_of_event"] == row["time_of_alert"] == ""
        else:
            assert 0 < float(row["time_of_alert"]) < float(row["time_of_event"]) < 3.0
            assert len(row["time_of_event"].split(".")[1]) == 3


def test_positive_test_videos_end_tau_before_event(noisy, clean):
    for truth in (noisy[2], clean[1]):
        test = {v: g for v, g in truth["videos"].items() if g["split"] == "test"}
        positives = [g for g in test.values() if g["target"]]
        assert len(positives) == len(test) // 2
        for gt in positives:
            assert gt["tau"] in synth.TAUS
            assert abs(gt["n_frames"] / gt["fps"] - (gt["time_of_event"] - gt["tau"])) < 1.5 / gt["fps"]
        for gt in test.values():
            if not gt["target"]:
                assert gt["tau"] is None


def test_label_noise_flips_exactly_the_listed_ids(noisy):
    out, summary, truth = noisy
    n_readable = sum(g["split"] == "train" for g in truth["videos"].values()) - len(truth["corrupt"])
    assert len(truth["flipped"]) == round(0.25 * n_readable) == summary["n_flipped"] == 2
    csv_target = {r["id"]: int(r["target"]) for r in read_csv(out / "train.csv")}
    differ = {v for v, t in csv_target.items() if t != truth["videos"][v]["target"]}
    assert differ == set(truth["flipped"])
    assert all(truth["videos"][v]["csv_target"] == t for v, t in csv_target.items())


def test_duplicates_look_like_their_source(noisy):
    out, _, truth = noisy
    assert len(truth["duplicates"]) == 2
    splits = sorted(truth["videos"][copy]["split"] for _, copy in truth["duplicates"])
    assert splits == ["test", "train"]  # one leaks into test
    readable = [v for v in truth["videos"] if v not in truth["corrupt"]]
    rows = {r["id"]: r for r in read_csv(out / "train.csv")}
    for src, copy in truth["duplicates"]:
        assert truth["videos"][src]["split"] == "train" and src not in truth["corrupt"]
        if copy in rows:  # a train copy carries its source's labels
            assert list(rows[copy].values())[1:] == list(rows[src].values())[1:]
        mid = truth["videos"][copy]["n_frames"] // 2
        a = frames(video_path(out, truth, src), [mid])
        b = frames(video_path(out, truth, copy), [mid])
        dup_diff = np.abs(a - b).mean()
        pair = {src, copy}
        others = [v for v in readable if v not in pair and truth["videos"][v]["n_frames"] > mid][:4]
        unrelated = [np.abs(a - frames(video_path(out, truth, o), [mid])).mean() for o in others]
        assert dup_diff < 0.5 * np.median(unrelated), (dup_diff, unrelated)


def test_corrupt_files_fail_to_decode(noisy):
    out, _, truth = noisy
    assert sorted(truth["corrupt"].values()) == sorted(synth.CORRUPT_KINDS)
    listed = {r["id"] for r in read_csv(out / "train.csv")}
    for vid, kind in truth["corrupt"].items():
        path = out / "train" / f"{vid}.mp4"
        assert vid in listed and path.exists()
        if kind == "empty":
            assert path.stat().st_size == 0
        assert probe_video(path).status == "corrupt"
        with pytest.raises(DecodeError):
            list(decode_frames(path, range(truth["videos"][vid]["n_frames"])))


def test_same_seed_same_labels(tmp_path):
    kw = dict(n_train=4, n_test=2, label_noise=0.25, seed=11, workers=1, **TINY)
    synth.generate(tmp_path / "a", **kw)
    synth.generate(tmp_path / "b", **kw)
    for name in ("train.csv", "test.csv", "sample_submission.csv", "ground_truth.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    synth.generate(tmp_path / "c", **{**kw, "seed": 12})
    assert (tmp_path / "a" / "train.csv").read_bytes() != (tmp_path / "c" / "train.csv").read_bytes()


def test_approaching_vehicle_is_visible(clean):
    """Between alert and just before the event, the centre-bottom changes a lot only in positives."""
    out, truth = clean
    train = {v: g for v, g in truth["videos"].items() if g["split"] == "train"}
    assert {g["target"] for g in train.values()} == {0, 1}

    def centre_bottom_change(vid, t0, t1):
        gt = train[vid]
        a, b = frames(video_path(out, truth, vid), [int(t0 * gt["fps"]), int(t1 * gt["fps"]) - 1])
        region = (slice(int(0.65 * H), H), slice(int(0.4 * W), int(0.6 * W)))
        return np.abs(a[region] - b[region]).mean()

    pos = {v: centre_bottom_change(v, g["time_of_alert"], g["time_of_event"]) for v, g in train.items() if g["target"]}
    times = [(g["time_of_alert"], g["time_of_event"]) for g in train.values() if g["target"]]
    neg = {v: max(centre_bottom_change(v, *t) for t in times) for v, g in train.items() if not g["target"]}
    assert np.mean(list(pos.values())) > 4 * np.mean(list(neg.values())), (pos, neg)
    assert min(pos.values()) > max(neg.values()), (pos, neg)


def test_existing_output_is_replaced_foreign_dir_refused(tmp_path):
    out = tmp_path / "ds"
    synth.generate(out, n_train=2, n_test=0, seed=1, workers=1, **TINY)
    first = (out / "train.csv").read_text()
    synth.generate(out, n_train=3, n_test=1, seed=2, workers=1, **TINY)  # a synth output may be overwritten
    assert (out / "train.csv").read_text() != first
    assert len(read_csv(out / "train.csv")) == 3

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(BadInput):
        synth.generate(foreign, n_train=2, n_test=0, workers=1, **TINY)
    assert (foreign / "notes.txt").read_text() == "mine"

    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(BadInput):
        synth.generate(a_file, n_train=2, n_test=0, workers=1, **TINY)


def test_failed_run_leaves_nothing_at_out(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(synth, "_write_tables", boom)
    with pytest.raises(RuntimeError):
        synth.generate(tmp_path / "ds", n_train=2, n_test=1, workers=1, **TINY)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n_train=1),
        dict(label_noise=0.6),
        dict(label_noise=-0.1),
        dict(width=95),
        dict(fps_range=(31, 24)),
        dict(fps_range="fast"),
        dict(positive_fraction=1.5),
        dict(n_duplicates=10),
        dict(n_corrupt=-1),
        dict(duration_s=1.0),
        dict(n_train=4, n_corrupt=2, n_duplicates=1, label_noise=0.5),  # not enough videos to flip
    ],
)
def test_bad_arguments_are_refused(tmp_path, kwargs):
    args = dict(TINY, n_train=4, n_test=2, workers=1)
    args.update(kwargs)
    with pytest.raises(BadInput):
        synth.generate(tmp_path / "ds", **args)
    assert not (tmp_path / "ds").exists()


def test_load_truth_reads_what_generate_wrote(clean):
    out, truth = clean
    assert truth == json.loads((out / "ground_truth.json").read_text())
    assert truth["seed"] == 3 and truth["params"]["n_train"] == 8
    assert truth["flipped"] == [] and truth["duplicates"] == [] and truth["corrupt"] == {}


def test_time_noise_moves_the_listed_videos_times_and_nothing_else(tmp_path):
    kw = dict(n_train=10, n_test=2, label_noise=0.1, seed=5, workers=1, **{**TINY, "duration_s": 4.0})
    synth.generate(tmp_path / "plain", **kw)
    summary = synth.generate(tmp_path / "late", time_noise=(0.75, 1.5), time_noise_share=0.5, **kw)
    truth = synth.load_truth(tmp_path / "late")
    plain = {r["id"]: r for r in read_csv(tmp_path / "plain" / "train.csv")}
    late = {r["id"]: r for r in read_csv(tmp_path / "late" / "train.csv")}
    positives = [v for v, r in plain.items() if r["target"] == "1" and v not in truth["flipped"]]
    assert summary["n_retimed"] == len(truth["retimed"]) == round(0.5 * len(positives)) > 0
    for vid, row in late.items():
        shift = truth["retimed"].get(vid)
        assert row["target"] == plain[vid]["target"]  # labels and flips as without time noise
        if shift is None:
            assert row == plain[vid]
            continue
        assert 0.75 <= abs(shift) <= 1.5
        for column in ("time_of_event", "time_of_alert"):  # both moved by the same shift, both inside the video
            assert float(row[column]) - float(plain[vid][column]) == pytest.approx(shift, abs=2e-3)
            assert 0 < float(row[column]) < 4.0
        assert float(plain[vid]["time_of_event"]) == pytest.approx(truth["videos"][vid]["time_of_event"], abs=2e-3)


@pytest.mark.parametrize("kwargs", [dict(time_noise=(2.0, 1.0), time_noise_share=0.2),
                                    dict(time_noise=(0.5, 1.0), time_noise_share=1.5),
                                    dict(time_noise=(0.0, 0.0), time_noise_share=0.2)])
def test_bad_time_noise_is_refused(tmp_path, kwargs):
    with pytest.raises(BadInput):
        synth.generate(tmp_path / "ds", **dict(TINY, n_train=4, n_test=2, workers=1), **kwargs)
    assert not (tmp_path / "ds").exists()
