"""`curate sweep`: an Optuna study of training settings kept in the workspace, every trial a normal run; a sweep
killed mid-trial continues where it stopped."""
import pyarrow.compute as pc
import pytest

from conftest import assert_one_line_error, curate, curate_subprocess, events_source
from curation.workspace import Workspace

TINY = ["--model", "mvit_tiny", "--weights", "none", "--epochs", "1", "--draws", "8", "--batch-size", "4",
        "--workers", "0"]


@pytest.mark.slow
def test_a_sweep_killed_in_its_first_trial_resumes_to_three_finished_runs(ws_dir):
    import optuna

    killed = curate_subprocess("-w", ws_dir, "sweep", "--trials", "3", *TINY, env={"CURATE_FAULT": "train.step"})
    assert killed.returncode == -9, killed.stderr[-2000:]
    storage = f"sqlite:///{ws_dir / 'sweeps' / 'sweep' / 'study.db'}"
    study = optuna.load_study(study_name="sweep", storage=storage)
    assert [t.state.name for t in study.get_trials()] == ["RUNNING"]
    cut_off = study.get_trials()[0].params

    proc = curate("-w", ws_dir, "sweep", "--trials", "3", *TINY)
    assert proc.returncode == 0, proc.stderr
    assert "trial 0 was cut off: its settings are tried again" in proc.stdout
    trials = optuna.load_study(study_name="sweep", storage=storage).get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE", "COMPLETE", "COMPLETE"]
    assert trials[1].params == cut_off  # the cut-off settings, tried again
    ws = Workspace.open(ws_dir)
    for t in trials[1:]:  # each trial a normal, finished run with its settings and its metric
        record = ws.runs.record(t.user_attrs["run"])
        assert record.status == "completed" and record.config["lr"] == pytest.approx(t.params["lr"])
        assert (record.config["warmup"], record.config["balance"]) == (t.params["warmup"], t.params["balance"])
        assert record.best_value == pytest.approx(t.value)
    best = max(trials[1:], key=lambda t: t.value)
    assert f"best of 3 trials: trial {best.number} ({best.user_attrs['run']})" in proc.stdout
    assert (ws_dir / "sweeps" / "sweep" / "trials.png").stat().st_size > 0
    runs = len(ws.runs.runs())
    assert curate("-w", ws_dir, "sweep", "--trials", "3", *TINY).returncode == 0  # finished: nothing to add
    assert len(Workspace.open(ws_dir).runs.runs()) == runs
    longer = [*TINY[:4], "--epochs", "2", *TINY[6:]]
    assert_one_line_error(curate("-w", ws_dir, "sweep", "--trials", "4", *longer), "other settings")


@pytest.mark.slow
def test_a_sweep_of_ingest_settings_trains_each_trial_on_its_own_ingest_and_scores_event_times(prebuilt, tmp_path):
    """An events dataset: each trial ingests the source again with its clip length and windows (alpha, beta) as
    its own dataset, trains on it, and is scored by event F1 on the val videos (the windows move clip labels,
    not labelled times); the workspace keeps its current dataset; the user's retime reaches every trial."""
    import json

    import optuna

    ws_dir = tmp_path / "ws"
    assert curate("-w", ws_dir, "ingest", "events", events_source(prebuilt, tmp_path / "data"), "--frame-size", "32",
                  "--clip-seconds", "1").returncode == 0
    (tmp_path / "move.csv").write_text("id,level,action,value\nrun0,video,retime,2.0:1.5\n")
    assert curate("-w", ws_dir, "edit", "clips", "--from", tmp_path / "move.csv", "-m", "a late label").returncode == 0
    proc = curate("-w", ws_dir, "sweep", "--search", "ingest", "--trials", "2", "--study", "windows", *TINY)
    assert proc.returncode == 0, proc.stderr
    ws = Workspace.open(ws_dir)
    assert ws.dataset == "events"  # the trials' ingests did not change the dataset bare names refer to
    study = optuna.load_study(study_name="windows", storage=f"sqlite:///{ws_dir / 'sweeps' / 'windows' / 'study.db'}")
    trials = study.get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    for t in trials:
        record = ws.runs.record(t.user_attrs["run"])
        task = ws.task(record.inputs.dataset)
        assert record.inputs.dataset.startswith("events-windows-")
        assert task.options["clip"]["span_s"] == pytest.approx(t.params["clip_seconds"])
        videos = ws.tables.read(ws.tables.head(record.inputs.dataset, "videos"))
        meta = ws.tables.revisions(record.inputs.dataset, "videos")[0].meta["ingest"]
        assert (meta["reader"]["args"]["alpha"], meta["reader"]["args"]["beta"]) == (t.params["alpha"],
                                                                                    t.params["beta"])
        assert json.loads(videos.filter(pc.field("video_id") == "run0")["events"][0].as_py()) == [1.5]
        result = next(r for k, r in record.evaluations.items() if k.startswith("events:"))
        assert t.value == pytest.approx(result["metrics"]["val"]["event_f1@0.5s"])
        assert set(result["predicted"]) == {"run4", "run5"}  # the val videos only
    assert "val event_f1@0.5s" in proc.stdout and "alpha" in proc.stdout
    assert_one_line_error(curate("-w", ws_dir, "sweep", "--trials", "3", "--study", "windows", *TINY),
                          "other settings")  # the same study with another search


def test_a_nexar_trial_dataset_has_the_trials_clip_length_and_label_rule_and_is_made_once(ws_dir):
    from optuna.trial import FixedTrial

    from curation.sweep import IngestSpace

    ws = Workspace.open(ws_dir)
    space = IngestSpace(ws, "nexar")
    params = space.suggest(FixedTrial({"clip_seconds": 1.5, "label_rule": "horizon", "horizon_s": 1.25}))
    assert params == {"clip_seconds": 1.5, "label_rule": "horizon", "horizon_s": 1.25}
    name = space.dataset_for(params, "s", progress=False)
    assert ws.dataset == "nexar" and Workspace.open(ws_dir).dataset == "nexar"
    options = ws.task(name).options
    assert options["clip"]["span_s"] == 1.5 and options["label_rule"] == "horizon:1.250"
    clips = ws.tables.read(ws.tables.head(name, "clips")).to_pandas()
    positives = clips[clips.label == 1]  # horizon 1.25 s: positive exactly when the clip ends 0–1.25 s before it
    assert len(positives) and (positives.time_to_event_s <= 1.25 + 1e-6).all()
    heads = {t: ws.tables.head(name, t).number for t in ("videos", "clips")}
    assert space.dataset_for(params, "s", progress=False) == name  # a retried trial reuses it
    assert {t: ws.tables.head(name, t).number for t in ("videos", "clips")} == heads
    assert space.suggest(FixedTrial({"clip_seconds": 2.0, "label_rule": "alert"})) == {"clip_seconds": 2.0,
                                                                                       "label_rule": "alert"}
