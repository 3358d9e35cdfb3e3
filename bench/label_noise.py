"""Label noise in either world: does one curation round recover what the noise cost, over data draws and seeds,
on held-out videos; and which detector finds the wrong labels best?

The evaluation is decided in bench/README.md (issue 41) before it is run. Per data draw (a generator seed: other
videos, other wrong labels) the synthetic folder is ingested three times:
- `noisy`: the written labels; `clean`: the true labels (the ceiling); `folds`: the written labels with a K-fold
  column over the train videos (out-of-fold probabilities).
The val videos keep their true labels everywhere (a checked val split). Arms, each trained with the same seeds:
noisy; curated (one round without an oracle: `suggest`'s default label issues of that seed's noisy run at
weight 0, then retrain; `--label-action label`: relabels instead; `--cutoff`: suggest's label issues at another
second-opinion cut-off; `--oracle`: weight 0 for exactly the wrong labels, the ceiling of a weight-0 round);
clean. They are scored on `--holdout` more videos of generator seed + 50 with their true labels, which no run
trains on and no choice looks at, by `compare` (the library call; a paired bootstrap over those videos and the
arms' shared seeds).

Pooled over draws: each arm's metric (mean over draws), the share of the noisy→clean gap the curated arm
recovers, (curated − noisy) / (clean − noisy), with a 95% interval from a bootstrap that resamples the draws and,
within each, takes one of compare's draws (videos and seeds resampled, one draw of seeds for every arm: the arms
share them; the unpaired one, each arm's seeds drawn apart as the tables did before session 16, printed beside),
and Fieller's interval for the same ratio over the (draw, seed) units (the spread of runs and draws; the held-out
videos are fixed within a draw).

Detection per video against the generator's wrong labels, P / R / F1 as mean ± sd over draws and seeds:
- suggest's default, one run (per clip the mean of AUM and the final pass's margin; for more than two classes those
  are the suspects of a probe refitted without them, `signals.probe`): every seed's noisy run;
- margin over seed repeats: the clips' margins averaged over a draw's noisy runs (one figure a draw; the probe
  reads the first run's embedding);
- cleanlab on K-fold OOF (`confident_learning`: `find_label_issues` with the quarter-of-the-clips rule per
  video, whether or not the fold runs learned) and the union with the margin over the fold runs (`suggest --runs`, which
  leaves out runs that did not learn): the first `--detect-seeds` seeds.

    uv run python bench/label_noise.py --world actions --noise-model class-conditional [--data-seeds 0,1,2]
        [--seeds 5] [--detect-seeds 3] [--holdout 400] [--epochs 3] [--draws 500] [--workdir W] [--reuse]
    uv run python bench/label_noise.py --world nexar --noise-model uniform ...
    uv run python bench/label_noise.py --world nexar --noise-model instance --hard-cases 0.3 ...
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
from scipy import stats

from curation.demo import ACTIONS_DURATION_S, ACTIONS_NUISANCE
from curation.frames.cache import cache_size_for
from curation.fsutil import atomic_write_bytes, sha256_file
from curation.ingest.pipeline import IngestOptions, ingest
from curation.jsonsafe import json_value
from curation.models import HEADS
from curation.models.mvit import MODELS, TINY_WEIGHTS
from curation.review.compare import compare, interval
from curation.review.signals.labels import LABEL_ISSUE_Z, SECOND_OPINION_Z
from curation.review.suggest import confident_learning, label_issues, label_issues_of_runs, suggest
from curation.review.suggestion import Suggestion, to_csv
from curation.synth import generate, load_truth
from curation.synth_actions import generate_actions
from curation.synth_noise import NOISE_MODELS
from curation.synth_views import checked_val, labelled_view, synthetic_source
from curation.tables.protocol import Edit
from curation.tables.requests import edit_from_file
from curation.train.collect import collect
from curation.train.config import TrainConfig
from curation.train.loop import train, train_folds
from curation.workspace import Workspace

ARMS = ("noisy", "curated", "clean")
# Each world's budget a run, fixed since the tables were made (the demo's at the time; the actions demo's has since
# gone to 4 epochs, and the tables keep 5 so that --reuse finds their runs).
TABLES_BUDGET = {"nexar": {"epochs": 3, "draws_per_epoch": 500},
                 "actions": {"epochs": 5, "draws_per_epoch": 500, "lr": 2e-3}}
DEFAULT = "suggest's default, one run"  # multi-class: the probe refitted without the margin's suspects


def make_data(world: str, out: Path, args, seed: int, videos: int, noise: float) -> None:
    width, height = (int(x) for x in args.size.split("x"))
    if world == "actions":
        generate_actions(out, n_train=videos, n_test=0, n_classes=args.classes, width=width, height=height,
                         duration_s=tuple(float(x) for x in args.duration.split(",")), nuisance=args.nuisance,
                         label_noise=noise, noise_model=args.noise_model, seed=seed, progress=False)
    else:
        generate(out, n_train=videos, n_test=4, width=width, height=height, label_noise=noise,
                 noise_model=args.noise_model, hard_cases=args.hard_cases, seed=seed, progress=False)


def options(args, folds: int = 0, seed: int = 0) -> IngestOptions:
    return IngestOptions(frame_size=cache_size_for(MODELS["mvit_tiny"].input_size), folds=folds, seed=seed,
                         val_fraction=0.2)


def held_out(ws, work: Path, args, seed: int) -> str:
    """`--holdout` more videos of generator seed + 50, every one in val under its true label, as dataset
    `holdout` (ingested once); the clips a comparison scores (Nexar: its two windows a video)."""
    if not ws.tables.exists("holdout", "clips"):
        data = work / "holdout-data"
        if not (data / "ground_truth.json").exists():
            make_data(args.world, data, args, seed + 50, args.holdout, 0.0)
        every = {v.video_id for v in synthetic_source(data).videos if v.split != "test"}
        ingest(ws, labelled_view(data, every, true_labels=True), "holdout", options(args, seed=seed), progress=False)
    head = ws.tables.head("holdout", "clips")
    if head.number == 1 and args.world == "nexar":
        clips = ws.tables.read(head)
        scored = set(clips.filter(ws.task("holdout").scored(pc.field("split") == "val"))["clip_id"].to_pylist())
        head = ws.tables.edit("holdout", "clips", Edit(delete=set(clips["clip_id"].to_pylist()) - scored), base=1,
                              message="only the scored clips")
    return head.ref


def scores(flagged: set[str], truth: set[str]) -> tuple[float, float, float, int]:
    hits = len(flagged & truth)
    p = hits / len(flagged) if flagged else 0.0
    r = hits / len(truth) if truth else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0), len(flagged)


def mean_sd(values) -> str:
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0:.3f}"


def fieller(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Fieller's interval for mean(a) / mean(b) from paired units (a_i, b_i); (nan, nan) when the denominator's
    mean is not clear of zero at `level` (the interval is then unbounded)."""
    n = len(a)
    t = stats.t.ppf(0.5 + level / 2, n - 1)
    ma, mb = a.mean(), b.mean()
    cov = np.cov(a, b, ddof=1) / n
    qa, qb, qab = cov[0, 0], cov[1, 1], cov[0, 1]
    A = mb * mb - t * t * qb
    if A <= 0:
        return math.nan, math.nan
    B = ma * mb - t * t * qab
    C = ma * ma - t * t * qa
    root = math.sqrt(max(B * B - A * C, 0.0))
    return (B - root) / A, (B + root) / A


def run_settings(args) -> dict:
    """Every run's TrainConfig settings but its table, name and seed: the arms differ only in those."""
    return dict(model="mvit_tiny", weights=args.weights, epochs=args.epochs, draws_per_epoch=args.draws,
                batch_size=8, lr=args.lr, workers=0, head=args.head)


def cutoff_threshold(cutoff: float) -> float:
    """`label_issues`' threshold that puts the second opinion's cut-off at `cutoff` (the two scale together)."""
    return cutoff * LABEL_ISSUE_Z / SECOND_OPINION_Z


def completed_run(ws, label: str, table: str, cfg: dict) -> str | None:
    """An earlier invocation's completed run of this label on this revision, trained with the settings `cfg`."""
    ref = ws.resolve(table).ref
    settings = asdict(TrainConfig(**cfg))  # as a run records them: an lr left to the recipe, resolved
    for r in reversed(ws.runs.runs()):
        record = ws.runs.record(r)
        if r.endswith(f"-{label}") and record.status == "completed" and record.inputs.ref == ref and all(
                record.config.get(k) == settings[k] for k in cfg):
            return r
    return None


class Draw:
    """One data draw's workspace: datasets, runs (reused when --reuse finds them) and figures."""

    def __init__(self, args, seed: int, work: Path):
        self.args, self.seed, self.work = args, seed, work
        if not (work / "data" / "ground_truth.json").exists():
            make_data(args.world, work / "data", args, seed, args.train, args.noise)
        self.ws = Workspace.open(work / "ws", backend="lance")
        val = checked_val(work / "data", args.val, seed)
        noisy = labelled_view(work / "data", val)
        for name, source, folds in (("noisy", noisy, 0),
                                    ("clean", labelled_view(work / "data", val, true_labels=True), 0),
                                    ("folds", labelled_view(work / "data", val, fixed_split=False), args.folds)):
            if not self.ws.tables.exists(name, "clips"):
                ingest(self.ws, source, name, options(args, folds, seed), progress=False)
        self.wrong = set(load_truth(work / "data")["flipped"]) - val  # wrong labels in val were checked
        self.n_train = sum(v.split == "train" for v in noisy.videos)
        self.scored_on = held_out(self.ws, work, args, seed)
        self.cfg = run_settings(args)

    def completed(self, label: str, table: str) -> str | None:
        return completed_run(self.ws, label, table, self.cfg)

    def run(self, label: str, table: str, seed: int) -> str:
        if found := self.completed(label, table):
            return found
        ref = self.ws.resolve(table).ref
        start = time.time()
        out = train(self.ws, TrainConfig(table=table, name=label, **self.cfg, seed=seed), echo=lambda *a: None,
                    progress=False)
        print(f"  draw {self.seed} {label:<12} on {ref:<18} val {self.ws.runs.record(out).best_value:.4f}  "
              f"({time.time() - start:.0f} s)", flush=True)
        return out

    def curated(self, flagged: list, message: str):
        """noisy/clips@1 with the `flagged` suggestions applied (an earlier revision of the same message is
        reused)."""
        tables = self.ws.tables
        earlier = [r for r in tables.revisions("noisy", "clips") if r.message == message]
        if earlier:
            return earlier[-1]
        head = tables.head("noisy", "clips")
        if head.number != 1:
            head = tables.revert("noisy", "clips", 1, message="back to the noisy labels")
        if not flagged:
            return head
        edits = self.work / "edits.csv"
        edits.write_text(to_csv(flagged))
        return tables.edit("noisy", "clips", edit_from_file(tables, head, edits), base=head.number, message=message)

    def measure(self) -> dict:
        args, seeds = self.args, list(range(self.args.seeds))
        arms = {arm: [] for arm in ARMS}
        one_run = DEFAULT if args.cutoff is None else f"suggest's default, one run (cut-off {args.cutoff:g})"
        cut = {} if args.cutoff is None else {"threshold": cutoff_threshold(args.cutoff)}
        detection = {one_run: [], "cleanlab, K-fold OOF": [], "margin ∪ cleanlab (suggest --runs, folds)": []}
        for seed in seeds:
            noisy = self.run(f"noisy-s{seed}", "noisy/clips@1", seed)
            flagged = [s for s in suggest(self.ws, noisy, action=args.label_action, **cut)  # none from a run that
                       if s.signal == "label issue"]
            # did not learn, as `curate suggest` decides
            detection[one_run].append(scores({s.video or s.id for s in flagged}, self.wrong))  # a relabel's video
            # the message names which rows (a hash), not only how many: it is how a later --reuse finds it
            if args.oracle:  # a ceiling, not a method: every wrong label and nothing else, from the generator
                flagged = [Suggestion(v, "video", "weight", "0", "label issue", "the generator's wrong label", 1.0)
                           for v in sorted(self.wrong)]
                message = f"weight 0 for the {len(flagged)} wrong labels (oracle)"
            elif args.label_action == "weight":
                ids = hashlib.sha256(" ".join(sorted(s.id for s in flagged)).encode()).hexdigest()[:8]
                message = f"weight 0 for {len(flagged)} label issues of {noisy} ({ids})"
            else:  # relabels: the hash covers the classes too
                ids = hashlib.sha256(" ".join(sorted(f"{s.id}:{s.value}" for s in flagged)).encode()).hexdigest()[:8]
                message = f"relabel {len(flagged)} clips of label issues of {noisy} ({ids})"
            revision = self.curated(flagged, message)
            arms["noisy"].append(noisy)
            arm = "oracle" if args.oracle else "curated" if args.cutoff is None else f"curated-z{args.cutoff:g}"
            arms["curated"].append(self.run(f"{arm}-s{seed}", revision.ref, seed))
            arms["clean"].append(self.run(f"clean-s{seed}", "clean/clips@1", seed))
        for seed in seeds[:args.detect_seeds]:
            fold_runs = [self.completed(f"s{seed}-fold{f}", "folds/clips@1") for f in range(args.folds)]
            if not all(fold_runs):
                fold_runs = train_folds(self.ws, TrainConfig(table="folds/clips@1", name=f"s{seed}-fold", **self.cfg,
                                                             seed=seed), args.folds, echo=lambda *a: None,
                                        progress=False)
            detection["cleanlab, K-fold OOF"].append(
                scores({s.id for s in confident_learning(self.ws, fold_runs)}, self.wrong))
            detection["margin ∪ cleanlab (suggest --runs, folds)"].append(
                scores({s.id for s in label_issues_of_runs(self.ws, fold_runs, [], action="weight")}, self.wrong))
        repeats = {s.id for s in label_issues(self.ws, arms["noisy"][0], repeats=arms["noisy"][1:], action="weight")}
        detection[f"margin over {len(seeds)} seed repeats"] = [scores(repeats, self.wrong)]
        scored = dict(on=self.scored_on, samples=args.samples, groups=arms, keep_draws=True,
                      collect=lambda w, r, ref, checkpoint: collect(w, r, ref, checkpoint, progress=False))
        result = compare(self.ws, [], paired_seeds=True, **scored)  # every arm has the same seeds: paired
        result["unpaired_draws"] = compare(self.ws, [], **scored)["draws"]  # the tables' bootstrap before session 16
        return {"arms": result, "detection": detection, "wrong": len(self.wrong), "train": self.n_train}


def pooled(per_draw: list[dict], samples: int, seed: int = 0) -> dict:
    """Each arm's mean over draws; the share recovered with the two-level bootstrap interval and Fieller's."""
    values = {arm: np.mean([[g["value"] for g in d["arms"]["groups"] if g["name"] == arm][0] for d in per_draw])
              for arm in ARMS}
    ratios, gaps = two_level_bootstrap([d["arms"]["draws"] for d in per_draw], samples, seed)
    unpaired, _ = two_level_bootstrap([d["arms"]["unpaired_draws"] for d in per_draw], samples, seed)
    units = [(cur - noisy, clean - noisy) for d in per_draw
             for noisy, cur, clean in zip(*[[g["seeds"] for g in d["arms"]["groups"] if g["name"] == arm][0]
                                            for arm in ARMS])]
    a, b = (np.array(x, dtype=float) for x in zip(*units))
    share = (values["curated"] - values["noisy"]) / (values["clean"] - values["noisy"])
    return {"values": values, "share": share, "bootstrap": interval(ratios), "unpaired": interval(unpaired),
            "fieller": fieller(a, b), "gap": values["clean"] - values["noisy"], "gap_interval": interval(gaps)}


def two_level_bootstrap(draws: list[np.ndarray], samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(share recovered, gap) per bootstrap draw: the data draws resampled, then within each one of compare's draws
    (`draws`: its (samples, arms) bootstrap, arms in ARMS order)."""
    rng = np.random.default_rng(seed)
    ratios, gaps = [], []
    for _ in range(samples):
        chosen = rng.integers(0, len(draws), len(draws))
        rows = np.array([draws[k][rng.integers(0, len(draws[k]))] for k in chosen]).mean(axis=0)
        gap = rows[2] - rows[0]
        gaps.append(gap)
        ratios.append((rows[1] - rows[0]) / gap if gap else math.nan)
    return np.array(ratios), np.array(gaps)


def config_changes(saved: Path, config: dict) -> dict:
    """What differs from the work folder's saved configuration (key → (before, now)), leaving out what each
    invocation chooses for itself: which draws and which curated arm."""
    before = json.loads(saved.read_text())
    per_invocation = ("data_seeds", "label_action", "oracle", "cutoff")
    return {k: (before.get(k), v) for k, v in config.items()
            if before.get(k) != v and k not in per_invocation and (k in before or v is not None)}


def start_sha256(weights: str) -> str | None:
    """The start's weights file by its content (None for random initialisation or a name the trainer resolves)."""
    path = TINY_WEIGHTS if weights == "pretrained" else Path(weights)
    return sha256_file(path) if path.is_file() else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", choices=["nexar", "actions"], required=True)
    ap.add_argument("--noise-model", choices=NOISE_MODELS, required=True)
    ap.add_argument("--noise", type=float, default=0.2, help="share of the labelled videos with a wrong label")
    ap.add_argument("--hard-cases", type=float, default=0.0, help="nexar: share of hard negatives / positives")
    ap.add_argument("--classes", type=int, default=10, help="actions: classes")
    ap.add_argument("--train", type=int, default=None, help="labelled videos a draw [actions 400, nexar 120]")
    ap.add_argument("--nuisance", type=float, default=None, help=f"actions: the generator's nuisance [the demo's, "
                    f"{ACTIONS_NUISANCE}]")
    ap.add_argument("--duration", default=None, help="actions: video length range in seconds LOW,HIGH [the demo's, "
                    f"{','.join(map(str, ACTIONS_DURATION_S))}]")
    ap.add_argument("--val", type=float, default=0.25, help="share of the labelled videos in the checked val split")
    ap.add_argument("--size", default=None, help="video size WxH [actions 96x96, nexar 160x96]")
    ap.add_argument("--data-seeds", default="0,1,2", help="generator seeds, one data draw each")
    ap.add_argument("--seeds", type=int, default=5, help="training seeds per arm per draw")
    ap.add_argument("--detect-seeds", type=int, default=3, help="seeds per draw with K fold runs (cleanlab)")
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--epochs", type=int, help="[the tables': nexar 3, actions 5]")
    ap.add_argument("--draws", type=int, help="[the tables': 500]")
    ap.add_argument("--lr", type=float, help="[the tables': nexar the trainer's default, actions 2e-3]")
    ap.add_argument("--weights", default="pretrained")
    ap.add_argument("--head", default="auto", choices=HEADS, help="the classifier head [auto]")
    ap.add_argument("--label-action", choices=["weight", "label"], default="weight",
                    help="the curated arm's fix for label issues [suggest's default, weight 0]")
    ap.add_argument("--oracle", action="store_true", help="the curated arm at weight 0 for exactly the generator's "
                    "wrong labels: the most one round at weight 0 can recover (a ceiling; chooses nothing)")
    ap.add_argument("--cutoff", type=float, help="the curated arm's label issues at this second-opinion cut-off "
                    f"instead of suggest's default ({SECOND_OPINION_Z})")
    ap.add_argument("--holdout", type=int, default=400, help="held-out videos a draw (true labels, seen by no run)")
    ap.add_argument("--samples", type=int, default=2000, help="bootstrap draws")
    ap.add_argument("--workdir", default=None, help="[/tmp/curate-noise-WORLD-MODEL]")
    ap.add_argument("--out", help="also write the figures as JSON here")
    ap.add_argument("--reuse", action="store_true", help="reuse an earlier invocation's data and completed runs "
                    "(refused when its configuration differs); without it the named draws start afresh, the "
                    "folder's other draws are kept (another invocation may be running them) unless the folder was "
                    "made with another configuration")
    args = ap.parse_args()
    args.train = args.train or (400 if args.world == "actions" else 120)
    for key, value in TABLES_BUDGET[args.world].items():  # unless told otherwise
        name = "draws" if key == "draws_per_epoch" else key
        setattr(args, name, value if getattr(args, name) is None else getattr(args, name))
    if args.world == "actions":  # the demo's world unless told otherwise
        args.nuisance = ACTIONS_NUISANCE if args.nuisance is None else args.nuisance
        args.duration = args.duration or ",".join(map(str, ACTIONS_DURATION_S))
    args.size = args.size or ("96x96" if args.world == "actions" else "160x96")
    work = Path(args.workdir or f"/tmp/curate-noise-{args.world}-{args.noise_model}")
    config = {k: v for k, v in vars(args).items() if k not in ("reuse", "out", "workdir", "samples")}
    config["start_sha256"] = start_sha256(args.weights)  # runs from another start are not these runs
    saved = work / "config.json"
    seeds = [int(x) for x in args.data_seeds.split(",")]
    changed = config_changes(saved, config) if saved.exists() else {}
    if changed and args.reuse:
        raise SystemExit(f"--reuse refused: {work} was made with another configuration "
                         f"({', '.join(f'{k}: {a} → {b}' for k, (a, b) in changed.items())}); use another "
                         "--workdir or leave --reuse out")
    if changed:  # another configuration's draws: none is kept
        shutil.rmtree(work)
    elif not args.reuse:  # only this invocation's draws start afresh: another invocation may be running others
        for seed in seeds:
            shutil.rmtree(work / f"draw{seed}", ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    # atomic: invocations on other draws of one work folder may run at once and read it while it is written
    atomic_write_bytes(saved, json.dumps(config, indent=1).encode())
    started = time.time()
    print(f"{args.world}, {args.noise_model} noise {args.noise:.0%}"
          + (f", hard cases {args.hard_cases:.0%}" if args.hard_cases else "")
          + f"; {args.train} labelled videos a draw ({args.val:.0%} checked val), {args.size}; mvit_tiny from "
            f"{args.weights}, {args.epochs} epochs × {args.draws} draws; data draws {args.data_seeds}, seeds 0.."
            f"{args.seeds - 1} per arm, {args.detect_seeds} with {args.folds} fold runs; {args.holdout} held-out "
            "videos a draw" + ("; the curated arm is the oracle (weight 0 for exactly the wrong labels)"
                               if args.oracle else "") + (f"; the curated arm's cut-off {args.cutoff:g}"
                                                          if args.cutoff is not None else ""), flush=True)
    per_draw = []
    for seed in seeds:
        per_draw.append(Draw(args, seed, work / f"draw{seed}").measure())
        d = per_draw[-1]
        values = {g["name"]: g["value"] for g in d["arms"]["groups"]}
        print(f"draw {seed}: {d['wrong']} wrong of {d['train']} train videos; held-out "
              + ", ".join(f"{arm} {values[arm]:.4f}" for arm in ARMS), flush=True)
        for name, rows in d["detection"].items():  # as each draw ends: a cut-off run still leaves its figures
            if rows:  # none for cleanlab's rows with --detect-seeds 0, as in the table below
                print(f"  {name:<42} F1 {mean_sd([f1 for *_, f1, _ in rows])}", flush=True)
    figures = pooled(per_draw, args.samples)
    metric = per_draw[0]["arms"]["metric"]
    s = per_draw[0]["arms"]["set"]
    print(f"\n{metric} on {s['videos']} held-out videos a draw ({s['clips']} clips), {len(per_draw)} draws × "
          f"{args.seeds} seeds per arm")
    print(f"{'arm':<10} " + " ".join(f"{'draw ' + str(seed):>9}" for seed in seeds) + f" {'pooled':>9}")
    for arm in ARMS:
        cells = [[g["value"] for g in d["arms"]["groups"] if g["name"] == arm][0] for d in per_draw]
        print(f"{arm:<10} " + " ".join(f"{c:9.4f}" for c in cells) + f" {figures['values'][arm]:9.4f}")
    low, high = figures["bootstrap"]
    flow, fhigh = figures["fieller"]
    glow, ghigh = figures["gap_interval"]
    print(f"gap clean − noisy {figures['gap']:+.4f} [{glow:+.4f}, {ghigh:+.4f}]")
    fieller_text = ("unbounded (over those units the gap's mean is not clear of 0)" if math.isnan(flow)
                    else f"[{flow:.0%}, {fhigh:.0%}]")
    ulow, uhigh = figures["unpaired"]
    print(f"share of the gap recovered: {figures['share']:.0%}, bootstrap over draws, videos and seeds (paired) "
          f"[{low:.0%}, {high:.0%}]; Fieller over (draw, seed) units {fieller_text}; bootstrap with each arm's "
          f"seeds drawn apart (before session 16) [{ulow:.0%}, {uhigh:.0%}]")
    print("\nlabel-issue detection per video, mean ± sd over draws and seeds")
    print(f"{'detector':<42} {'flagged':>13} {'precision':>13} {'recall':>13} {'F1':>13}")
    detection = {}
    for name in per_draw[0]["detection"]:
        rows = [row for d in per_draw for row in d["detection"][name]]
        if rows:
            p, r, f1, n = zip(*rows)
            detection[name] = {"precision": p, "recall": r, "f1": f1, "flagged": n}
            print(f"{name:<42} {mean_sd(n):>13} {mean_sd(p):>13} {mean_sd(r):>13} {mean_sd(f1):>13}")
    print(f"minutes: {(time.time() - started) / 60:.1f}")
    if args.out:
        for d in per_draw:
            d["arms"].pop("draws", None)
            d["arms"].pop("unpaired_draws", None)
        # an unbounded Fieller interval (NaN) is written as null: JSON has no NaN
        Path(args.out).write_text(json.dumps(json_value({"config": config, "pooled": figures, "detection": detection,
                                                         "draws": per_draw}), indent=1, default=float))


if __name__ == "__main__":
    main()
