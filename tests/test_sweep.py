"""`curate sweep`: an Optuna study of training settings kept in the workspace, every trial a normal run; a sweep
killed mid-trial continues where it stopped."""
import pytest

from conftest import assert_one_line_error, curate, curate_subprocess
from curation.workspace import Workspace

TINY = ["--model", "mvit_tiny", "--weights", "none", "--epochs", "1", "--draws", "8", "--batch-size", "4",
        "--workers", "0"]


@pytest.mark.slow
def test_a_sweep_killed_in_its_first_trial_resumes_to_four_finished_runs(ws_dir):
    import optuna

    killed = curate_subprocess("-w", ws_dir, "sweep", "--trials", "4", *TINY, env={"CURATE_FAULT": "train.step"})
    assert killed.returncode == -9, killed.stderr[-2000:]
    storage = f"sqlite:///{ws_dir / 'sweeps' / 'sweep' / 'study.db'}"
    study = optuna.load_study(study_name="sweep", storage=storage)
    assert [t.state.name for t in study.get_trials()] == ["RUNNING"]
    cut_off = study.get_trials()[0].params

    proc = curate("-w", ws_dir, "sweep", "--trials", "4", *TINY)
    assert proc.returncode == 0, proc.stderr
    assert "trial 0 was cut off: its settings are tried again" in proc.stdout
    trials = optuna.load_study(study_name="sweep", storage=storage).get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE", "COMPLETE", "COMPLETE", "COMPLETE"]
    assert trials[1].params == cut_off  # the cut-off settings, tried again
    ws = Workspace.open(ws_dir)
    for t in trials[1:]:  # each trial a normal, finished run with its settings and its metric
        record = ws.runs.record(t.user_attrs["run"])
        assert record.status == "completed" and record.config["lr"] == pytest.approx(t.params["lr"])
        assert (record.config["warmup"], record.config["balance"]) == (t.params["warmup"], t.params["balance"])
        assert record.best_value == pytest.approx(t.value)
    best = max(trials[1:], key=lambda t: t.value)
    assert f"best of 4 trials: trial {best.number} ({best.user_attrs['run']})" in proc.stdout
    assert (ws_dir / "sweeps" / "sweep" / "trials.png").stat().st_size > 0
    runs = len(ws.runs.runs())
    assert curate("-w", ws_dir, "sweep", "--trials", "4", *TINY).returncode == 0  # finished: nothing to add
    assert len(Workspace.open(ws_dir).runs.runs()) == runs
    longer = [*TINY[:4], "--epochs", "2", *TINY[6:]]
    assert_one_line_error(curate("-w", ws_dir, "sweep", "--trials", "5", *longer), "other training settings")
