"""The action-recognition generator (class folders) and the annotator noise models of both generators."""
from __future__ import annotations

import json

import numpy as np
import pytest

from curation.errors import BadInput
from curation.frames.video import decode_frames
from curation.ingest.layouts.folders import read_folders
from curation.synth import generate, load_truth
from curation.synth_actions import action_classes, generate_actions
from curation.synth_noise import draw_flips

SMALL = dict(width=64, height=64, duration_s=(1.2, 1.6), test_duration_s=(1.2, 1.4), progress=False)


@pytest.fixture(scope="module")
def actions(tmp_path_factory):
    out = tmp_path_factory.mktemp("actions") / "d"
    summary = generate_actions(out, n_train=24, n_test=8, n_classes=4, label_noise=0.25,
                               noise_model="class-conditional", n_duplicates=2, n_corrupt=1, seed=3, **SMALL)
    return out, summary, load_truth(out)


def test_the_tree_is_what_ingest_folders_reads_with_labels_groups_and_test_split(actions):
    out, summary, truth = actions
    source = read_folders(out)
    assert source.classes == sorted(truth["classes"])
    videos = {v.video_id: v for v in source.videos}
    assert set(videos) == set(truth["videos"]) and len(videos) == 24 + 8
    for vid, t in truth["videos"].items():
        assert source.classes[videos[vid].label] == t["label"]  # the folder is the written label
        assert videos[vid].split == t["split"] and f"_g{t['group']:02d}_" in vid
        if t["split"] == "test":
            assert t["label"] == t["class"]  # held-out videos carry the truth
    wrong = {v for v, t in truth["videos"].items() if t["label"] != t["class"]}
    assert wrong == set(truth["flipped"]) and len(wrong) == summary["n_flipped"] > 0
    assert set(truth["flips"]) == wrong and all("look-alike" in f["cause"] for f in truth["flips"].values())
    for vid in wrong:  # class-conditional: every wrong label is the true class's look-alike
        assert truth["pairs"][truth["videos"][vid]["class"]]["partner"] == truth["videos"][vid]["label"]
    (src, copy_), (src2, copy2) = sorted(truth["duplicates"], key=lambda p: p[1].startswith("train"))
    assert copy_.startswith("test/") and copy2.startswith("train/")
    assert truth["videos"][copy2]["label"] == truth["videos"][src2]["label"]
    assert len(truth["corrupt"]) == 1
    speed_pairs = {c for c, pair in truth["pairs"].items() if pair["cue"] == "speed"}
    assert speed_pairs  # a speed twin is faster than every video of its slow twin, whatever else varies
    for t in truth["videos"].values():
        if t["class"] in speed_pairs:
            assert (t["speed"] > 1.3) if t["class"].endswith("_fast") else (t["speed"] < 0.77)


def test_a_plain_class_tree_without_test_and_every_video_moves(tmp_path):
    generate_actions(tmp_path / "d", n_train=8, n_test=0, n_classes=2, seed=1, **SMALL)
    truth = load_truth(tmp_path / "d")
    assert sorted(p.name for p in (tmp_path / "d").iterdir() if p.is_dir()) == sorted(truth["classes"])
    assert {v.split for v in read_folders(tmp_path / "d").videos} == {None}
    for vid in truth["videos"]:
        frames = np.stack([f for _, f in decode_frames(tmp_path / "d" / f"{vid}.mp4", [0, 6, 12])]).astype(float)
        assert frames.std() > 10  # a scene, not a flat colour
        assert np.abs(frames[2] - frames[0]).mean() > 1.0  # something moved


def test_classes_come_in_look_alike_pairs_up_to_fifty():
    classes = action_classes(50)
    assert len({c.name for c in classes}) == 50
    assert len({(c.motion, c.shape) for c in classes}) == 25  # pairs differ from each other in motion or shape
    for i, c in enumerate(classes):
        twin = classes[c.partner]
        assert twin.partner == i and (twin.motion, twin.shape, twin.cue) == (c.motion, c.shape, c.cue)
        assert twin.variant != c.variant
    odd = action_classes(5)
    assert odd[4].partner == 3 and odd[3].partner == 2
    with pytest.raises(BadInput):
        action_classes(51)


def test_class_conditional_flips_go_to_the_look_alike_at_asymmetric_rates():
    labels = {f"v{i:03d}": i % 4 for i in range(160)}
    flips = draw_flips(np.random.default_rng(0), "class-conditional", labels, 4, 0.2, {0: 1, 1: 0, 2: 3, 3: 2})
    per_class = np.bincount([labels[v] for v in flips], minlength=4)
    assert per_class.tolist() == [4, 12, 4, 12]  # 0.5x and 1.5x of 20% of 40 videos
    assert all(f.label == {0: 1, 1: 0, 2: 3, 3: 2}[labels[v]] for v, f in flips.items())


def test_uniform_flips_ignore_the_content_and_instance_flips_fall_on_hard_videos():
    labels = {f"v{i:03d}": i % 5 for i in range(200)}
    partner = {0: 1, 1: 0, 2: 3, 3: 2, 4: 3}
    uniform = draw_flips(np.random.default_rng(1), "uniform", labels, 5, 0.2, partner)
    assert len(uniform) == 40 and all(f.label != labels[v] for v, f in uniform.items())
    assert len({f.label for f in uniform.values()}) == 5
    hard = {v: (0.9 if i % 2 else 0.05) for i, v in enumerate(sorted(labels))}
    instance = draw_flips(np.random.default_rng(1), "instance", labels, 5, 0.2, partner, hard,
                          {v: "occluded" for v in labels})
    assert len(instance) == 40 and sum(hard[v] == 0.9 for v in instance) >= 38
    assert sum(f.label == partner[labels[v]] for v, f in instance.items()) >= 24  # mostly the look-alike
    assert all("occluded" in f.cause for f in instance.values())


def test_actions_instance_noise_lands_on_ambiguous_videos(tmp_path):
    generate_actions(tmp_path / "d", n_train=60, n_test=0, n_classes=4, label_noise=0.2, noise_model="instance",
                     seed=2, **SMALL)
    truth = load_truth(tmp_path / "d")
    flipped = set(truth["flipped"])
    ambiguity = {v: t["ambiguity"] for v, t in truth["videos"].items()}
    assert len(flipped) == 12
    assert np.mean([ambiguity[v] for v in flipped]) > np.mean([a for v, a in ambiguity.items() if v not in flipped])
    assert all(truth["flips"][v]["cause"].startswith("instance: hard to read") for v in flipped)


def test_nexar_hard_cases_and_instance_noise(tmp_path):
    generate(tmp_path / "d", n_train=40, n_test=6, width=96, height=64, duration_s=4.0, test_duration_s=3.0,
             label_noise=0.2, noise_model="instance", hard_cases=0.3, seed=4, progress=False)
    truth = load_truth(tmp_path / "d")
    videos = truth["videos"]
    hard = {v for v, t in videos.items() if t.get("hard")}
    assert {videos[v]["hard"] for v in hard} == {"near-miss", "cut-in", "dim"}
    assert all(videos[v]["target"] == (videos[v]["hard"] == "dim") for v in hard)
    flipped = set(truth["flipped"])
    assert len(flipped) == 8 and len(flipped & hard) >= 6  # annotators err on the hard cases
    rows = {r.split(",")[0]: r.split(",") for r in (tmp_path / "d" / "train.csv").read_text().split()[1:]}
    for v in flipped:
        assert int(rows[v][3]) == 1 - videos[v]["target"] and truth["flips"][v]["cause"].startswith("instance")
    assert json.loads((tmp_path / "d" / "ground_truth.json").read_text())["params"]["noise_model"] == "instance"


def test_bad_generator_arguments_are_refused_before_writing(tmp_path):
    with pytest.raises(BadInput, match="noise model"):
        generate_actions(tmp_path / "a", n_train=8, noise_model="sloppy", **SMALL)
    with pytest.raises(BadInput, match="classes"):
        generate_actions(tmp_path / "a", n_train=200, n_classes=60, **SMALL)
    with pytest.raises(BadInput, match="two train videos a class"):
        generate_actions(tmp_path / "a", n_train=5, n_classes=4, **SMALL)
    assert not (tmp_path / "a").exists()


def test_synth_command_writes_either_world_and_refuses_options_of_the_other(tmp_path):
    from conftest import curate

    done = curate("synth", str(tmp_path / "a"), "--layout", "folders", "--classes", "3", "--train", "9", "--test",
                  "3", "--width", "64", "--height", "64", "--duration", "1.2-1.4", "--test-duration", "1.2",
                  "--label-noise", "0.2", "--noise-model", "instance", "--seed", "2")
    assert done.returncode == 0, done.stderr
    assert "of 3 classes" in done.stdout
    truth = load_truth(tmp_path / "a")
    assert len(truth["classes"]) == 3 and truth["params"]["noise_model"] == "instance"
    assert {t["split"] for t in truth["videos"].values()} == {"train", "test"}
    for args, words in ((("--layout", "folders", "--time-noise", "1"), "nexar layout"),
                        (("--layout", "folders", "--hard-cases", "0.2"), "nexar layout"),
                        (("--duration", "4-6"), "one length"),
                        (("--layout", "folders", "--classes", "51"), "classes")):
        bad = curate("synth", str(tmp_path / "b"), *args)
        assert bad.returncode == 2 and words in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "b").exists()
    nexar = curate("synth", str(tmp_path / "n"), "--train", "6", "--test", "2", "--width", "64", "--height", "64",
                   "--duration", "3", "--test-duration", "2", "--hard-cases", "0.5", "--label-noise", "0.2",
                   "--noise-model", "class-conditional")
    assert nexar.returncode == 0, nexar.stderr
    assert load_truth(tmp_path / "n")["params"]["hard_cases"] == 0.5
