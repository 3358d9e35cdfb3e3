"""`curate sweep`: a search over training settings (learning rate, warmup, weight decay, class balance) and/or
ingest settings (clip length, and the label windows: Nexar's label rule and horizon, the events layout's alpha
and beta) with Optuna's TPE sampler. The study lives in the workspace (sweeps/<study>/study.db, SQLite), so a
sweep that is killed continues where it stopped: the trial it was running is marked failed and its settings are
tried again. Every trial is a normal run (its own record, run-NNNN-<study>-t<k>); a trial of ingest settings
trains on its own dataset, the source ingested again with them (`<dataset>-<study>-<digest>`, the user's
retimes applied, reused by a retried trial). The best is the one with the task's best val metric — for labels
that are times in a layout whose clip labels depend on the windows (events), event F1 at ±0.5 s of its
whole-video prediction on the val videos, which the windows do not change; sweeps/<study>/trials.png plots
them."""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

from curation.errors import BadInput
from curation.fsutil import atomic_write_bytes
from curation.runs.plots import plot_trials
from curation.storage import is_remote
from curation.task import VIDEOS
from curation.train.config import TrainConfig, resolve_train_table

SEARCHED = ("lr", "warmup", "weight_decay", "balance")
SPACES = ("training", "ingest")
EVENT_OBJECTIVE = "event_f1@0.5s"


@dataclass
class SweepResult:
    study: str
    metric: str
    trials: list[dict]  # trial, run, params, value (None: failed or killed)
    best: dict | None
    plot: Path


MAX_TRIALS = 10_000  # each trial is a training run: more is a mistyped number, refused before the study is touched


def sweep(ws, base: TrainConfig, trials: int, study: str = "sweep", echo=print, progress: bool = True,
          search: tuple[str, ...] = ("training",)) -> SweepResult:
    """Run trials of `base` (its searched settings replaced) until `trials` have finished in the study; returns
    every trial of the study and the best. `search`: which settings, "training" and/or "ingest"."""
    import optuna
    from optuna.trial import TrialState

    if is_remote(ws.root):
        raise BadInput(f"a sweep keeps its study in SQLite, which cannot live in {ws.root}",
                       "sweep in a workspace folder, or choose settings by hand")
    if not 1 <= trials <= MAX_TRIALS:
        raise BadInput(f"{trials} trials is outside 1 to {MAX_TRIALS}", f"ask for 1 to {MAX_TRIALS} trials")
    if not study.replace("-", "").replace("_", "").isalnum():
        raise BadInput(f"study name {study!r} is not a plain name", "use letters, digits, - and _")
    search = tuple(dict.fromkeys(search))
    if not search or not set(search) <= set(SPACES):
        raise BadInput(f"unknown search space {', '.join(search) or '(none)'}", f"search {' and/or '.join(SPACES)}")
    revision = resolve_train_table(ws, base.table)
    ingested = IngestSpace(ws, revision.dataset) if "ingest" in search else None
    folder = Path(ws.root) / "sweeps" / study
    folder.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(f"sqlite:///{folder / 'study.db'}")
    opt = optuna.create_study(study_name=study, storage=storage, direction="maximize", load_if_exists=True,
                              sampler=optuna.samplers.TPESampler(seed=base.seed))
    fixed = {k: v for k, v in base.to_dict().items() if k not in (SEARCHED if "training" in search else ()) + ("name",)}
    if search != ("training",):  # a study of training settings alone keeps the record it always had
        fixed["search"] = list(search)
    settings = json.dumps(fixed, sort_keys=True)
    made_with = opt.user_attrs.get("base")
    if made_with is None:
        opt.set_user_attr("base", settings)
    elif made_with != settings:
        raise BadInput(f"study {study} was run with other settings", "give the same options, or a new study name")
    for stale in opt.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):  # left by a killed sweep
        opt.tell(stale.number, state=TrialState.FAIL)
        opt.enqueue_trial(stale.params)
        echo(f"trial {stale.number} was cut off: its settings are tried again")
    while len(opt.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < trials:
        trial = opt.ask()
        params = _training_params(trial, base.lr) if "training" in search else {}
        config = replace(base, **params, name=f"{study}-t{trial.number}")
        if ingested:
            options = ingested.suggest(trial)
            params.update(options)
            config = replace(config, table=f"{ingested.dataset_for(options, study, progress)}/{revision.table}")
        run, metric, value = _train_and_score(ws, config, bool(ingested), progress)
        trial.set_user_attr("run", run)
        trial.set_user_attr("metric", metric)
        if value is None or math.isnan(value):
            opt.tell(trial, state=TrialState.FAIL)
            raise BadInput(f"trial {trial.number} ({run}) has no val {metric}", "sweep a table with a val split")
        opt.tell(trial, value)
        best = opt.best_trial
        echo(f"trial {trial.number}: {describe(params)} → {run} val {metric} {value:.4f} (best {best.value:.4f}, "
             f"trial {best.number})")
    done = [{"trial": t.number, "run": t.user_attrs.get("run"), "params": t.params,
             "value": t.value if t.state == TrialState.COMPLETE else None, "state": t.state.name}
            for t in opt.get_trials(deepcopy=False)]
    best = next((t for t in done if t["trial"] == opt.best_trial.number), None)
    metric = opt.best_trial.user_attrs.get("metric") or ws.runs.record(best["run"]).metric
    plot = folder / "trials.png"
    atomic_write_bytes(plot, plot_trials(done, metric))
    return SweepResult(study, metric, done, best, plot)


def describe(params: dict) -> str:
    """A trial's settings in words, in a fixed order."""
    words = {"lr": lambda v: f"lr {v:.2e}", "warmup": lambda v: f"warmup {v:.2f}",
             "weight_decay": lambda v: f"weight decay {v:.3f}", "balance": lambda v: f"balance {'yes' if v else 'no'}",
             "clip_seconds": lambda v: f"clip {v:.2f} s", "label_rule": lambda v: f"label rule {v}",
             "horizon_s": lambda v: f"horizon {v:.2f} s", "alpha": lambda v: f"alpha {v:.2f}",
             "beta": lambda v: f"beta {v:.2f}"}
    return ", ".join(words[k](params[k]) for k in words if k in params)


def _training_params(trial, recipe: float) -> dict:
    return {"lr": trial.suggest_float("lr", recipe / 10, recipe * 10, log=True),
            "warmup": trial.suggest_float("warmup", 0.0, 0.2),
            "weight_decay": trial.suggest_float("weight_decay", 1e-3, 0.2, log=True),
            "balance": trial.suggest_categorical("balance", [False, True])}


def _train_and_score(ws, config: TrainConfig, own_dataset: bool, progress: bool) -> tuple[str, str, float | None]:
    """(run, metric, its val value): the run's best val metric, or — on a trial dataset of an events layout,
    whose clip labels move with the windows — event F1 at ±0.5 s of its whole-video prediction on val."""
    from curation.events.predict import predict_events
    from curation.train.loop import train

    run = train(ws, config, echo=lambda *_: None, progress=progress)
    record = ws.runs.record(run)
    task = ws.task(record.inputs.dataset)
    if own_dataset and task.times_are_labels and not task.event_task:
        result = predict_events(ws, run, progress=progress, splits=("val",))
        return run, EVENT_OBJECTIVE, result["metrics"].get("val", {}).get(EVENT_OBJECTIVE)
    return run, record.metric, record.best_value


class IngestSpace:
    """The ingest settings a trial may change, and the trial's own dataset: the base dataset's source read
    again and ingested with them."""

    def __init__(self, ws, dataset: str):
        from curation.ingest.pipeline import IngestOptions
        from curation.tables.carry import last_ingest, user_edits

        self.ws, self.dataset = ws, dataset
        self.layout = ws.task(dataset).layout
        if self.layout not in ("nexar", "events"):
            raise BadInput(f"dataset {dataset} has no label windows to search ({self.layout} layout)",
                           "search ingest settings of a Nexar or events dataset, or training settings alone")
        state = last_ingest(ws.tables, dataset, VIDEOS).meta["ingest"]
        if not state.get("reader"):
            raise BadInput(f"dataset {dataset} was ingested by a version that did not record how to read its "
                           "source again", "ingest its source again once, then sweep its ingest settings")
        self.reader, self.options = state["reader"], IngestOptions.from_dict(state["options"])
        moved = user_edits(ws.tables, dataset, VIDEOS).times
        self.retimes = {v: [tuple(m) for m in moves] for v, moves in moved.items()}

    def suggest(self, trial) -> dict:
        span = self.options.clip.span_s
        params = {"clip_seconds": trial.suggest_float("clip_seconds", span / 2, span * 2, log=True)}
        if self.layout == "nexar":
            params["label_rule"] = trial.suggest_categorical("label_rule", ["alert", "horizon"])
            if params["label_rule"] == "horizon":
                params["horizon_s"] = trial.suggest_float("horizon_s", 0.5, 3.0)
        else:
            params["alpha"] = trial.suggest_float("alpha", 0.05, 0.5)
            params["beta"] = trial.suggest_float("beta", 0.05, 0.5)
        return params

    def dataset_for(self, params: dict, study: str, progress: bool) -> str:
        """The trial's dataset, ingested once per set of settings (a retried trial reuses it); the workspace's
        current dataset stays what it was."""
        from curation.ingest.pipeline import ingest
        from curation.ingest.retime import reread

        digest = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:8]
        name = f"{self.dataset}-{study}-{digest}"
        rule = f"horizon:{params['horizon_s']:.3f}" if params.get("label_rule") == "horizon" else "alert"
        options = replace(self.options, clip=replace(self.options.clip, span_s=params["clip_seconds"]),
                          label_rule=rule if self.layout == "nexar" else self.options.label_rule)
        reader = self.reader
        if self.layout == "events":
            reader = {**reader, "args": {**reader.get("args", {}), "alpha": params["alpha"], "beta": params["beta"]}}
        current = self.ws.dataset
        fresh = not self.ws.tables.exists(name, VIDEOS)  # once made, the dataset carries the retimes itself
        try:
            ingest(self.ws, reread(reader), name, options, progress=progress, retimes=self.retimes if fresh else None,
                   message=f"sweep {study}: {describe(params)}")
        finally:
            self.ws.set_dataset(current)
        return name
