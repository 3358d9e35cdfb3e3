"""`curate sweep`: a hyperparameter search over training settings (learning rate, warmup, weight decay, class
balance) with Optuna's TPE sampler. The study lives in the workspace (sweeps/<study>/study.db, SQLite), so a
sweep that is killed continues where it stopped: the trial it was running is marked failed and its settings are
tried again. Every trial is a normal run (its own record, run-NNNN-<study>-t<k>); the best is the one with the
task's best val metric; sweeps/<study>/trials.png plots them."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

from curation.errors import BadInput
from curation.runs.plots import plot_trials
from curation.train.config import TrainConfig

SEARCHED = ("lr", "warmup", "weight_decay", "balance")


@dataclass
class SweepResult:
    study: str
    metric: str
    trials: list[dict]  # trial, run, params, value (None: failed or killed)
    best: dict | None
    plot: Path


def sweep(ws, base: TrainConfig, trials: int, study: str = "sweep", echo=print, progress: bool = True) -> SweepResult:
    """Run trials of `base` (its searched settings replaced) until `trials` have finished in the study; returns
    every trial of the study and the best."""
    import optuna
    from optuna.trial import TrialState

    from curation.train.loop import train

    if trials < 1:
        raise BadInput(f"{trials} trials is too few", "ask for 1 or more")
    if not study.replace("-", "").replace("_", "").isalnum():
        raise BadInput(f"study name {study!r} is not a plain name", "use letters, digits, - and _")
    folder = Path(ws.root) / "sweeps" / study
    folder.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(f"sqlite:///{folder / 'study.db'}")
    opt = optuna.create_study(study_name=study, storage=storage, direction="maximize", load_if_exists=True,
                              sampler=optuna.samplers.TPESampler(seed=base.seed))
    settings = json.dumps({k: v for k, v in base.to_dict().items() if k not in (*SEARCHED, "name")}, sort_keys=True)
    made_with = opt.user_attrs.get("base")
    if made_with is None:
        opt.set_user_attr("base", settings)
    elif made_with != settings:
        raise BadInput(f"study {study} was run with other training settings", "give the same options, or a new "
                       "study name")
    for stale in opt.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):  # left by a killed sweep
        opt.tell(stale.number, state=TrialState.FAIL)
        opt.enqueue_trial(stale.params)
        echo(f"trial {stale.number} was cut off: its settings are tried again")
    recipe = base.lr  # the model's recipe unless given
    while len(opt.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < trials:
        trial = opt.ask()
        params = {"lr": trial.suggest_float("lr", recipe / 10, recipe * 10, log=True),
                  "warmup": trial.suggest_float("warmup", 0.0, 0.2),
                  "weight_decay": trial.suggest_float("weight_decay", 1e-3, 0.2, log=True),
                  "balance": trial.suggest_categorical("balance", [False, True])}
        run = train(ws, replace(base, **params, name=f"{study}-t{trial.number}"), echo=lambda *_: None,
                    progress=progress)
        trial.set_user_attr("run", run)
        record = ws.runs.record(run)
        value = record.best_value
        if value is None or math.isnan(value):
            opt.tell(trial, state=TrialState.FAIL)
            raise BadInput(f"trial {trial.number} ({run}) has no val {record.metric}",
                           "sweep a table with a val split")
        opt.tell(trial, value)
        best = opt.best_trial
        echo(f"trial {trial.number}: lr {params['lr']:.2e}, warmup {params['warmup']:.2f}, weight decay "
             f"{params['weight_decay']:.3f}, balance {'yes' if params['balance'] else 'no'} → {run} val "
             f"{record.metric} {value:.4f} (best {best.value:.4f}, trial {best.number})")
    done = [{"trial": t.number, "run": t.user_attrs.get("run"), "params": t.params,
             "value": t.value if t.state == TrialState.COMPLETE else None, "state": t.state.name}
            for t in opt.get_trials(deepcopy=False)]
    best = next((t for t in done if t["trial"] == opt.best_trial.number), None)
    metric = ws.runs.record(best["run"]).metric  # the task's: what every trial's value is
    plot = folder / "trials.png"
    plot_trials(done, metric, plot)
    return SweepResult(study, metric, done, best, plot)
