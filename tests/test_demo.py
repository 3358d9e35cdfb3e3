import pytest

from curation.demo import run_demo


@pytest.mark.slow
def test_demo_runs_the_loop_offline(tmp_path):
    out = run_demo(tmp_path / "demo", echo=lambda *_: None, quick=True)
    assert out["ingest"].status["corrupt"] == 3
    assert out["edit"].number == 2 and out["edit"].counts["deleted"] > 0  # at least the duplicates
    flagged, injected, found = out["scores"]["near-duplicate"]
    assert found == injected == 2
    round1, round2 = out["runs"]
    assert round1 != round2 and round2.endswith("round2")
    import csv
    import json

    from curation.synth import load_truth

    with open(out["submission"]) as f:
        rows = list(csv.DictReader(f))
    truth = load_truth(tmp_path / "demo" / "data")
    test_ids = {v for v, t in truth["videos"].items() if t["split"] == "test"}
    assert sorted(r["id"] for r in rows) == sorted(test_ids)
    assert len({r["target"] for r in rows}) > 1  # scored by the model, not a constant fallback
    provenance = json.loads(out["submission"].with_name("submission.provenance.json").read_text())
    assert [r["run"] for r in provenance["runs"]] == [round2]
    assert set(out["test_ap"]) == {round1, round2}
    from sklearn.metrics import average_precision_score  # the reported AP is the submission's, against the truth
    expected = average_precision_score([truth["videos"][r["id"]]["target"] for r in rows],
                                       [float(r["target"]) for r in rows])
    assert out["test_ap"][round2] == pytest.approx(expected)
    compared = out["compare"]  # the two rounds compared on one pinned set: the val clips of round 2's revision
    assert [g["runs"] for g in compared["groups"]] == [[round1], [round2]]
    assert compared["set"]["table"] == "nexar/clips@2"
    from curation.workspace import Workspace

    collected = Workspace.open(tmp_path / "demo").runs.collections
    assert not any(name.endswith("-last") for name in collected(round1) + collected(round2))  # no pass for it
    from curation.workspace import Workspace  # the demo folder is the workspace `curate dashboard -w` opens

    assert Workspace.open(tmp_path / "demo").runs.runs() == [round1, round2]


@pytest.mark.slow
def test_actions_demo_runs_the_loop_and_scores_both_rounds_on_the_test_split(tmp_path):
    out = run_demo(tmp_path / "demo", echo=lambda *_: None, quick=True, task="actions", epochs=2)
    from curation.synth import load_truth
    from curation.workspace import Workspace

    truth = load_truth(tmp_path / "demo" / "data")
    ws = Workspace.open(tmp_path / "demo")
    assert ws.task().layout == "folders" and len(ws.task().classes) == 4
    assert out["ingest"].status["corrupt"] == 3 and out["scores"]["near-duplicate"][2] == 2
    round1, round2 = out["runs"]
    assert [ws.runs.record(r).config["epochs"] for r in (round1, round2)] == [2, 2]  # the budget's override
    tested = out["test"]
    test_videos = {v for v, t in truth["videos"].items() if t["split"] == "test"}
    assert tested["videos"] == len(test_videos) and set(tested["values"]) == {round1, round2}
    clips = ws.tables.read(ws.resolve("actions/clips@1")).to_pylist()
    test_clips = [c for c in clips if c["split"] == "test"]
    assert {c["video_id"] for c in test_clips} == test_videos
    from curation.review.metrics import final_collection

    # the test accuracy is round 2's predictions on those clips: its final pass over its own revision holds them
    collected = ws.runs.collection(round2, final_collection(ws, round2))
    pred = dict(zip(collected["clip_id"].to_pylist(), collected["pred"].to_pylist()))
    right = [pred[c["clip_id"]] == c["label"] for c in test_clips]
    assert tested["values"][round2] == pytest.approx(sum(right) / len(right))
    low, high = tested["interval"]
    assert low <= tested["values"][round2] - tested["values"][round1] <= high


def test_a_demo_budget_that_cannot_train_is_refused_before_anything_is_written(tmp_path):
    from curation.errors import BadInput

    with pytest.raises(BadInput, match="epochs"):
        run_demo(tmp_path / "demo", echo=lambda *_: None, quick=True, task="actions", epochs=0)
    assert not (tmp_path / "demo").exists()


def test_an_unknown_noise_model_is_refused_before_anything_is_written(tmp_path):
    from curation.errors import BadInput

    with pytest.raises(BadInput, match="noise model"):
        run_demo(tmp_path / "demo", echo=lambda *_: None, quick=True, noise_model="annotator")
    assert not (tmp_path / "demo").exists()


def test_the_nexar_world_with_instance_noise_has_hard_cases_and_flips_them(tmp_path):
    from curation.demo import make_world
    from curation.synth import load_truth

    make_world("nexar", tmp_path / "data", seed=0, quick=True, noise_model="instance")
    truth = load_truth(tmp_path / "data")
    assert any(t.get("hard") for t in truth["videos"].values())
    assert any(truth["flips"][v]["cause"].startswith("instance") for v in truth["flipped"])
