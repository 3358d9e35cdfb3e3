"""`curate compare`: did the edit help? Runs scored on ONE fixed set of clips, each difference with a 95%
confidence interval from a paired bootstrap over videos (the clips of a video are correlated, so videos are
resampled, not clips), and the probability that one beats the other. Seed repeats of one revision and config
are one group: each bootstrap draw also resamples the group's seeds, so the interval holds both the sample's
and the seeds' variance."""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow.compute as pc

from curation.errors import BadInput, NotFound
from curation.events.times import TOLERANCES_S, f1_of_counts, video_counts
from curation.ingest.layouts import LAYOUTS
from curation.fsutil import write_output
from curation.runs.protocol import CollectionKey
from curation.task import SAMPLES, TEST, Targets, Task

DRAWS = 2000  # bootstrap draws
LEVEL = 0.95
ONE_RUN = ("unmeasured: a side has one run, so the interval covers the choice of videos only, not how far another "
           "seed would move it; train seed repeats of both sides for a verdict")


def verdict(difference: dict) -> str:
    """What one of `compare`'s differences says: inconclusive with one run on a side (the seeds' variance is
    unmeasured), else better / worse when the 95% interval excludes 0, else no clear difference."""
    if difference["p_b_better"] is None:
        return "inconclusive"
    low, high = difference["interval"]
    return "better" if low > 0 else "worse" if high < 0 else "no clear difference"


@dataclass
class EvalSet:
    """The clips every run is scored on, pinned to one table revision."""
    ref: str  # dataset/table@N
    split: str
    clip_ids: list[str]
    videos: np.ndarray  # video id per clip
    task: Task  # scores the clips
    targets: Targets  # per clip, from the videos revision the runs pinned
    why: str  # how it was chosen, said with the results
    videos_revision: object = None  # the videos revision the targets come from (labelled event times)

    @property
    def event(self) -> bool:
        return self.task.event_task


@dataclass
class Group:
    """Runs of one training revision and config that differ only by seed (or a single run)."""
    name: str
    runs: list[str]
    trained_on: str
    scores: list[np.ndarray] = field(default_factory=list)  # per run: prob of the positive class, or predicted class


def group_key(record) -> tuple:
    config = {k: v for k, v in record.config.items() if k not in ("seed", "name", "table")}
    return record.inputs.ref, tuple(sorted((k, repr(v)) for k, v in config.items()))


def group_runs(ws, runs: list[str]) -> list[Group]:
    """Runs in the order given, seed repeats of one revision and config together."""
    groups: dict[tuple, Group] = {}
    for run in runs:
        record = ws.runs.record(run)
        key = group_key(record)
        if key not in groups:
            groups[key] = Group(record.group or run, [], record.inputs.ref)
        groups[key].runs.append(run)
    return list(groups.values())


def pinned_set(ws, runs: list[str], on: str | None = None, split: str = "val") -> EvalSet:
    """`on` (TABLE@REV), or the `split` clips of the earliest revision the runs trained on: edits that delete or
    relabel val clips later must not move the goalposts. Runs of datasets of one task (e.g. the same videos
    ingested with other labels) need `on`."""
    records = [ws.runs.record(r) for r in runs]
    first = min(records, key=lambda r: r.inputs.revision)  # the earliest revision; its pinned videos give the targets
    if len({(r.task, tuple(r.classes)) for r in records}) > 1:
        raise BadInput("these runs solve different tasks (classes)", "compare runs of one task")
    datasets = sorted({r.inputs.dataset for r in records})
    if not on and len(datasets) > 1:
        raise BadInput(f"these runs trained on different datasets ({' and '.join(datasets)})",
                       "name the clips to score them on")
    if on:
        revision, why = ws.resolve(on), f"the {split} clips of {on}, as asked"
        ws.task(revision.dataset).require(ws.tables, revision, (SAMPLES, TEST), "a comparison scores clips")
    else:
        tables = {r.inputs.table for r in records}
        if len(tables) > 1:
            raise BadInput(f"these runs trained on different tables ({', '.join(sorted(tables))})",
                           "name the clips to score them on")
        revision = first.trained_on(ws.tables)
        why = f"the {split} clips of {revision.ref}, the earliest revision these runs trained on"
    task = ws.task(revision.dataset)
    rows = ws.tables.read(revision).filter(task.scored(pc.field("split") == split)).sort_by("clip_id")
    if rows.num_rows == 0:
        raise NotFound(f"{revision.ref} has no {split} clips to score", "pick a revision and split with clips")
    videos = task.videos_at(ws.tables, first.inputs.videos_of(revision.dataset))
    return EvalSet(revision.ref, split, rows["clip_id"].to_pylist(),
                   np.array(rows["video_id"].to_pylist(), dtype=object), task,
                   task.targets(ws.tables, rows, videos), why, videos)


def run_scores(ws, run: str, es: EvalSet, collect=None) -> np.ndarray:
    """The run's score per clip of the set from its model at the end of training: its final collection pass when
    that covers the set, else `collect(ws, run, ref, "last")` (one inference pass with the last checkpoint, the
    same model, written to the run so the next comparison reads it)."""
    column = es.task.score_column
    wanted = set(es.clip_ids)
    names = [n for n in ws.runs.collections(run) if CollectionKey.parse(n).tag in ("", "last")]
    own = str(CollectionKey.of(ws.resolve(es.ref), home=ws.runs.record(run).inputs.dataset))
    for name in sorted(names, key=lambda n: n != own):  # the pinned revision's own pass first
        table = ws.runs.collection(run, name).select(["clip_id", column])
        if wanted <= set(table["clip_id"].to_pylist()):
            break
    else:
        if collect is None:
            raise NotFound(f"run {run} has no predictions for {es.ref}", "collect the run over it first")
        name = collect(ws, run, es.ref, "last")
        table = ws.runs.collection(run, name).select(["clip_id", column])
    by_id = dict(zip(table["clip_id"].to_pylist(), table.column(1).to_pylist()))
    if not wanted <= set(by_id):
        raise NotFound(f"run {run}'s predictions miss clips of {es.ref}", "collect the run over it again")
    return np.array([by_id[c] for c in es.clip_ids], dtype=float if es.event else int)


def metric_of(es: EvalSet, metric: str):
    """A function (clip indices, scores) → the metric on those clips (with repeats, as a bootstrap draws)."""
    if es.event:
        if metric not in ("mAP", "ap_tau_0.5", "ap_tau_1.0", "ap_tau_1.5"):
            raise BadInput(f"metric {metric!r} is not an event-task metric", "use mAP or ap_tau_0.5/1.0/1.5")
    elif metric not in ("accuracy", "macro_f1"):
        raise BadInput(f"metric {metric!r} is not a classification metric", "use accuracy or macro_f1")
    return lambda idx, s: es.task.score(es.targets.take(idx), s[idx])[metric]


def paired_bootstrap(videos: np.ndarray, groups: list[list[np.ndarray]], metric, samples: int = DRAWS,
                     seed: int = 0, paired_seeds: bool = False) -> np.ndarray:
    """(samples, groups) metric values: each draw resamples the videos with replacement (the same draw for every
    group: paired) and, within each group, its seed runs with replacement; a group's value is the mean over the
    runs drawn. `paired_seeds`: run i of every group shares a seed, and one draw of run indices serves them all."""
    rng = np.random.default_rng(seed)
    names, inverse = np.unique(videos, return_inverse=True)
    by_video = np.argsort(inverse, kind="stable")  # video k's clips: by_video[first[k]:first[k] + size[k]]
    size = np.bincount(inverse, minlength=len(names))
    first = np.cumsum(size) - size
    out = np.empty((samples, len(groups)))
    for b in range(samples):
        drawn = rng.integers(0, len(names), len(names))
        lengths = size[drawn]  # the drawn videos' clips, end to end, without a Python loop over videos
        idx = by_video[np.repeat(first[drawn] - (np.cumsum(lengths) - lengths), lengths) + np.arange(lengths.sum())]
        shared = rng.integers(0, len(groups[0]), len(groups[0])) if paired_seeds else None
        for g, runs in enumerate(groups):
            drawn = shared if paired_seeds else rng.integers(0, len(runs), len(runs)) if len(runs) > 1 else [0]
            out[b, g] = _mean([metric(idx, runs[r]) for r in drawn])
    return out


def check_same_seeds(ws, groups: list) -> None:
    """Seeds can be paired only where every group's runs were trained with the same seeds in the same order."""
    seeds = [[ws.runs.record(r).config.get("seed") for r in g.runs] for g in groups]
    if any(s != seeds[0] for s in seeds[1:]):
        raise BadInput("paired seeds need every group's runs trained with the same seeds in the same order (seeds "
                       + "; ".join(f"{g.name}: {', '.join(map(str, s))}" for g, s in zip(groups, seeds)) + ")",
                       "order each group's runs by seed, or compare them unpaired")


def _mean(values) -> float:
    """Mean of the defined values (a draw without positives has no AP); NaN when none is."""
    values = [v for v in values if not math.isnan(v)]
    return sum(values) / len(values) if values else math.nan  # plain floats: np.mean costs more per call here


def interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    values = values[~np.isnan(values)]
    if not len(values):
        return math.nan, math.nan
    tail = (1 - level) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def truth_score(es: EvalSet, scores: list[np.ndarray]) -> np.ndarray:
    """Per clip, how right a group is (the mean over its runs): the probability of the true class (event tasks)
    or the share of runs predicting it (classes)."""
    if es.event:
        truth = es.targets.video_targets == 1
        return np.mean([np.where(truth, s, 1 - s) for s in scores], axis=0)
    return np.mean([(s == es.targets.labels).astype(float) for s in scores], axis=0)


def per_video_change(es: EvalSet, a: list[np.ndarray], b: list[np.ndarray]) -> list[tuple[str, float]]:
    """Per video, most worsened first: the mean over its clips of how much B moved towards the truth, B − A."""
    delta = truth_score(es, b) - truth_score(es, a)
    names, inverse = np.unique(es.videos, return_inverse=True)
    per_video = [(str(v), float(delta[inverse == k].mean())) for k, v in enumerate(names)]
    return sorted(per_video, key=lambda x: x[1])


def clip_changes(es: EvalSet, a: list[np.ndarray], b: list[np.ndarray], top: int = 20) -> list[tuple[str, float, float]]:
    """The `top` clips whose truth score moved most between A and B, either way: (clip, A's, B's)."""
    right_a, right_b = truth_score(es, a), truth_score(es, b)
    order = np.argsort(-np.abs(right_b - right_a), kind="stable")[:top]
    return [(es.clip_ids[i], float(right_a[i]), float(right_b[i])) for i in order]


def compare(ws, runs: list[str], on: str | None = None, metric: str | None = None, split: str = "val",
            samples: int = DRAWS, collect=None, groups: dict[str, list[str]] | None = None,
            keep_draws: bool = False, paired_seeds: bool = False) -> dict:
    """Score `runs` (refs) on one pinned set; returns the groups with their metric and interval, every
    difference against the first group with its interval and, when both sides have seed repeats, P(better) (with
    one run on a side the seeds' variance is unmeasured: no P(better), and `seed_variance` says so), the videos
    that moved most, the revision diff between the first and each other group's training revision, and for time
    labels the event-time comparison (`events`, or why not in `notes`). `groups` (name → runs) replaces the
    grouping of seed repeats (e.g. the arms of an experiment); `keep_draws` adds the bootstrap draws.
    `paired_seeds`: every group's runs were trained with the same seeds in the same order (an experiment's arms),
    so the bootstrap draws one set of seeds for all of them: a seed's swing, shared by its runs, cancels."""
    from curation.tables.content import diff_revisions

    if groups:
        runs = [r for members in groups.values() for r in members]
    if len(runs) < 2:
        raise BadInput("compare needs two runs or more", "name the runs to compare")
    ids = list(dict.fromkeys(ws.runs.resolve(r) for r in runs))
    es = pinned_set(ws, ids, on, split)
    record = ws.runs.record(ids[0])
    metric = metric or record.metric or es.task.metric
    score = metric_of(es, metric)
    if groups:
        groups = [Group(name, [ws.runs.resolve(r) for r in members], ws.runs.record(ws.runs.resolve(
            members[0])).inputs.ref) for name, members in groups.items()]
    else:
        groups = group_runs(ws, ids)
    if len(groups) < 2:
        raise BadInput("these runs are seed repeats of one revision and config: one group",
                       "compare them with a run of another revision or config")
    if paired_seeds:
        check_same_seeds(ws, groups)
    for group in groups:
        group.scores = [run_scores(ws, r, es, collect) for r in group.runs]
    every = np.arange(len(es.clip_ids))
    point = [_mean([score(every, s) for s in g.scores]) for g in groups]
    if any(math.isnan(v) for v in point):
        raise BadInput(f"{metric} is undefined on the {split} clips of {es.ref} (a class has no clips there)",
                       "score on a set with clips of every class")
    draws = paired_bootstrap(es.videos, [g.scores for g in groups], score, samples, paired_seeds=paired_seeds)
    result = {"set": {"table": es.ref, "split": es.split, "clips": len(es.clip_ids),
                      "videos": int(len(np.unique(es.videos))), "why": es.why,
                      "model": "each run's model at the end of training (its final collection pass)"},
              "metric": metric, "samples": samples, "level": LEVEL, "groups": [], "differences": [],
              "undefined_draws": float(np.isnan(draws).any(axis=1).mean())}  # draws without a class: left out
    for g, value, column in zip(groups, point, draws.T):
        seeds = [float(score(every, s)) for s in g.scores]
        result["groups"].append({"name": g.name, "runs": g.runs, "trained_on": g.trained_on, "value": value,
                                 "interval": interval(column), "seeds": seeds,
                                 "seed_sd": float(np.std(seeds, ddof=1)) if len(seeds) > 1 else None})
    base = groups[0]
    for k, g in enumerate(groups[1:], start=1):
        diff = draws[:, k] - draws[:, 0]
        diff = diff[~np.isnan(diff)]
        moved = per_video_change(es, base.scores, g.scores)
        a_rev, b_rev = ws.resolve(base.trained_on), ws.resolve(g.trained_on)
        seeds_measured = len(base.runs) > 1 and len(g.runs) > 1  # else the draws hold no seed-to-seed variance
        result["differences"].append({
            "a": base.name, "b": g.name, "difference": point[k] - point[0], "interval": interval(diff),
            "p_b_better": (float((diff > 0).mean()) if len(diff) else math.nan) if seeds_measured else None,
            "seed_variance": "measured" if seeds_measured else ONE_RUN,
            "worsened": moved[:5], "improved": moved[::-1][:5], "per_video": moved,
            "clips_changed": clip_changes(es, base.scores, g.scores),
            "revision_diff": diff_revisions(ws.tables, a_rev, b_rev).counts()
            if (a_rev.dataset, a_rev.table) == (b_rev.dataset, b_rev.table) else None})
    result["events"], note = event_comparison(ws, es, groups, samples)
    result["notes"] = [note] if note else []
    if keep_draws:
        result["draws"] = draws
    return result


def event_comparison(ws, es: EvalSet, groups: list[Group], samples: int = DRAWS) -> tuple[dict | None, str | None]:
    """For a dataset whose labels are times: event F1 at each tolerance of every group, from each run's newest
    `predict-events` over the set's videos, with intervals from a paired bootstrap over those videos (seeds
    resampled within a group, as for the clip metric), and each difference to the first group. (None, why not)
    when the labels are classes or a run has not predicted the videos' event times."""
    if not es.task.times_are_labels:
        return None, None
    videos = sorted(set(es.videos))
    layout = LAYOUTS[es.task.layout]
    rows = ws.tables.read(es.videos_revision).to_pylist()
    labelled = {v["video_id"]: times for v in rows if v["video_id"] in set(videos)
                and (times := layout.labelled_times(v)) is not None}
    videos = [v for v in videos if v in labelled]
    predicted = {}
    for run in (r for g in groups for r in g.runs):
        found = [(r.get("created", ""), r["predicted"]) for k, r in ws.runs.record(run).evaluations.items()
                 if k.startswith("events:") and set(videos) <= set(r.get("predicted", {}))]
        if not found:
            return None, (f"event times not compared: {run} has not predicted the event times of these "
                          f"{len(videos)} videos; predict them with every run first")
        predicted[run] = max(found, key=lambda x: x[0])[1]
    out = {"videos": len(videos), "from": "each run's newest whole-video prediction (its threshold chosen on val)",
           "metrics": {}}
    for tol in TOLERANCES_S:
        counts = [[video_counts(predicted[r], labelled, videos, tol) for r in g.runs] for g in groups]
        draws = paired_bootstrap(np.array(videos, dtype=object), counts, lambda idx, c: f1_of_counts(c[idx].sum(0)),
                                 samples)
        point = [_mean([f1_of_counts(c.sum(0)) for c in runs]) for runs in counts]
        out["metrics"][f"event_f1@{tol:g}s"] = {
            "groups": [{"name": g.name, "value": v, "interval": interval(column)}
                       for g, v, column in zip(groups, point, draws.T)],
            "differences": [_difference(groups[0], g, point[k] - point[0], draws[:, k] - draws[:, 0])
                            for k, g in enumerate(groups[1:], start=1)]}
    return out, None


def _difference(a: Group, b: Group, value: float, draws: np.ndarray) -> dict:
    """B − A with its interval; P(B better) only when both sides have seed repeats."""
    seeds_measured = len(a.runs) > 1 and len(b.runs) > 1
    return {"a": a.name, "b": b.name, "difference": value, "interval": interval(draws),
            "p_b_better": float((draws > 0).mean()) if seeds_measured else None}


def plot_compare(result: dict, path) -> None:
    """The metric of each group with its interval (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = result["groups"]
    values = [g["value"] for g in groups]
    low = [g["value"] - g["interval"][0] for g in groups]
    high = [g["interval"][1] - g["value"] for g in groups]
    fig, ax = plt.subplots(figsize=(1.6 + 1.2 * len(groups), 3.2))
    ax.errorbar(range(len(groups)), values, yerr=[low, high], fmt="o", capsize=4)
    ax.set_xticks(range(len(groups)), [f"{g['name']}\n({len(g['runs'])} run{'s' * (len(g['runs']) > 1)})"
                                       for g in groups], fontsize=8)
    ax.set_ylabel(f"{result['metric']} ({result['level']:.0%} interval)")
    ax.set_title(f"{result['set']['split']} clips of {result['set']['table']}", fontsize=9)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110)
    plt.close(fig)
    write_output(path, png.getvalue())
