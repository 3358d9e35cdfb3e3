from curation.demo import run_demo


def test_demo_runs_the_loop_offline(tmp_path):
    out = run_demo(tmp_path / "demo", echo=lambda *_: None, quick=True)
    assert out["ingest"].status["corrupt"] == 3
    assert out["edit"].number == 2 and out["edit"].counts["deleted"] > 0  # at least the duplicates
    flagged, injected, found = out["scores"]["near-duplicate"]
    assert found == injected == 2
    round1, round2 = out["runs"]
    assert round1 != round2 and round2.endswith("round2")
