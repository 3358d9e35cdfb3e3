from curation.demo import run_demo


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
    assert sorted(r["id"] for r in rows) == sorted(test_ids) and all(0 <= float(r["target"]) <= 1 for r in rows)
    provenance = json.loads(out["submission"].with_name("submission.provenance.json").read_text())
    assert [r["run"] for r in provenance["runs"]] == [round2]
    assert set(out["test_ap"]) == {round1, round2} and all(0 <= ap <= 1 for ap in out["test_ap"].values())
