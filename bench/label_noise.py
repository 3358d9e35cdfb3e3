"""Label noise: does one curation round recover what the noise cost, by more than seeds and val sampling move
it; and which detector finds the flipped labels best, over several seeds?

Synthetic Nexar-style data with a share of the train videos' labels flipped. The validation videos keep
their true labels in every dataset (so val mAP measures the same thing everywhere); the rest is ingested
three times from the same files:
- `noisy`: the CSV labels as given;
- `clean`: the true labels (the generator's ground truth) — the ceiling;
- `folds`: the CSV labels with a K-fold column over the train videos, for out-of-fold probabilities.

Arms, each trained with seeds seed..seed+S-1: noisy; curated (one round without an oracle: `suggest`'s AUM
label issues of that seed's noisy run at weight 0, then retrain — `suggest` → `edit --from`); clean. The arms
are compared with `curate compare` (the library call) on the val clips of noisy/clips@1: each arm's mAP with a
95% interval from the paired bootstrap over val videos with the seeds resampled inside each draw, and the
share of the noisy→clean gap the curated arm recovers, (curated − noisy) / (clean − noisy), with its interval
from the same draws. With --holdout N they are scored on N more videos instead (another generator seed, true
labels, unseen by every run: the interval over 48 val videos is mostly the videos' own spread).

Detection is scored per video (labels are given per video; an edit acts on a video) against the videos the
generator flipped, as mean ± sd over seeds (the fold-based ones over the first D seeds: K runs each):
- AUM, one run: `curate suggest`'s label issues from each seed's noisy run (all S seeds);
- AUM over seed repeats: the same rule on the clips' AUM averaged over all S noisy runs (one figure);
- CL (ours): `curate suggest --runs` on that seed's K fold runs;
- cleanlab: `cleanlab.filter.find_label_issues` on the same out-of-fold probabilities, with the same
  quarter-of-the-clips rule per video.
With --relabel-arm, another arm: the same AUM label issues fixed instead of dropped — the flagged videos' clips
the run argued with relabelled to the other class (`suggest --label-action label`); the clips a relabel got
right are counted against the clean labels. With --cl-arm, another: curated by CL's label issues (the first D
seeds, whose fold runs exist) instead of AUM's, to see whether a better detector recovers more.

    uv run --group bench python bench/label_noise.py [--train 160] [--noise 0.3] [--seeds 5] [--detect-seeds 3]
        [--relabel-arm] [--cl-arm] [--weights none] [--label-rule horizon:1] [--balance] [--warmup 0.05]
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
from cleanlab.filter import find_label_issues

from curation.ingest.clips import LabelRule
from curation.ingest.layouts import read_nexar
from curation.ingest.pipeline import IngestOptions, ingest
from curation.review.compare import compare, interval
from curation.frames.cache import cache_size_for
from curation.models.mvit import MODELS
from curation.review.suggest import (confident_learning, contradicted_videos, label_issues, label_issues_of_runs,
                                     out_of_fold_probabilities, to_csv)
from curation.synth import generate, load_truth
from curation.synth_views import checked_val, labelled_view
from curation.tables.protocol import Edit
from curation.tables.requests import edit_from_file
from curation.train.config import TrainConfig
from curation.train.collect import collect
from curation.train.loop import train, train_folds
from curation.workspace import Workspace


def sources(data: Path, val_fraction: float, seed: int):
    """The three views of one synthetic folder: (noisy, clean, folds) sources and the val video ids."""
    val = checked_val(data, val_fraction, seed)
    return (labelled_view(data, val), labelled_view(data, val, true_labels=True),
            labelled_view(data, val, fixed_split=False), val)


def scores(flagged: set[str], truth: set[str]) -> tuple[float, float, float, int]:
    hits = len(flagged & truth)
    p = hits / len(flagged) if flagged else 0.0
    r = hits / len(truth) if truth else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0), len(flagged)


def cleanlab_videos(oof) -> set[str]:
    """Videos judged by `contradicted_videos`' per-video rule on cleanlab's clip flags, so that our confident
    learning and cleanlab differ only in how clips are flagged."""
    df = oof.to_pandas().dropna(subset=["label", "prob"])
    probs = np.stack([1 - df["prob"].to_numpy(), df["prob"].to_numpy()], axis=1)
    issue = find_label_issues(df["label"].to_numpy().astype(int), probs, n_jobs=1)  # Lance is not fork-safe
    return set(contradicted_videos(df, issue=issue).index)


def true_clip_labels(ws, truth: dict, rule: str) -> tuple[dict[str, int], set[str]]:
    """Each clip of noisy/clips@1 with the label the generator's true target and times give it under the
    label rule; and the train clips whose noisy label differs from it."""
    rule = LabelRule.parse(rule)
    clips = ws.tables.read(ws.resolve("noisy/clips@1"), ["clip_id", "video_id", "split", "end_time_s", "label"])
    out, wrong = {}, set()
    for c in clips.to_pylist():
        video = truth["videos"][c["video_id"]]
        out[c["clip_id"]] = rule.label(c["end_time_s"], video["time_of_event"], video["time_of_alert"]) \
            if video["target"] == 1 else 0
        if c["split"] == "train" and out[c["clip_id"]] != c["label"]:
            wrong.add(c["clip_id"])
    return out, wrong


def held_out_videos(ws, work: Path, videos: int, width: int, height: int, label_rule: str, seed: int) -> str:
    """`videos` more videos (generator seed + 50, true labels and times, all in val) as dataset holdoutN (its
    name); generated under `work` once and ingested once."""
    dataset = f"holdout{videos}"
    if not ws.tables.exists(dataset, "clips"):
        if not (work / dataset / "ground_truth.json").exists():
            generate(work / dataset, n_train=videos, n_test=0, width=width, height=height, n_duplicates=0,
                     n_corrupt=0, seed=seed + 50, progress=False)
        every = {v.video_id for v in read_nexar(work / dataset).videos}
        ingest(ws, labelled_view(work / dataset, every, true_labels=True), dataset,
               IngestOptions(frame_size=cache_size_for(MODELS["mvit_tiny"].input_size), label_rule=label_rule,
                             seed=seed), progress=False)
    return dataset


def held_out_clips(ws, work: Path, videos: int, width: int, height: int, label_rule: str, seed: int) -> str:
    """`held_out_videos`, kept to the clips a comparison scores (two a video): a run's pass over them then costs
    2 clips a video, not ~20."""
    dataset = held_out_videos(ws, work, videos, width, height, label_rule, seed)
    head = ws.tables.head(dataset, "clips")
    if head.number == 1:
        clips = ws.tables.read(head)
        scored = set(clips.filter(ws.task(dataset).scored(pc.field("split") == "val"))["clip_id"].to_pylist())
        unscored = set(clips["clip_id"].to_pylist()) - scored
        head = ws.tables.edit(dataset, "clips", Edit(delete=unscored), base=1, message="only the scored clips")
    return head.ref


def span(bounds, sign: str = "") -> str:
    """An interval as [low, high], or — where compare gives none (one seed per arm)."""
    return "—" if bounds is None else f"[{bounds[0]:{sign}.4f}, {bounds[1]:{sign}.4f}]"


def mean_sd(values) -> str:
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0:.3f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=120, help="train.csv videos (--val of them become val)")
    ap.add_argument("--val", type=float, default=0.3, help="share of the train.csv videos held out as val")
    ap.add_argument("--noise", type=float, default=0.2, help="share of train videos with a flipped label")
    ap.add_argument("--size", default="160x96", help="video size (WxH) the generator writes")
    ap.add_argument("--label-rule", default="alert",
                    help="which clips are positive: alert or horizon:SECONDS (a --reuse'd workdir keeps the rule it "
                         "was ingested with)")
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--lr", type=float, help="default: the model's recipe")
    ap.add_argument("--balance", action="store_true", help="draw positive and negative clips equally often")
    ap.add_argument("--warmup", type=float, default=0.0, help="share of the steps with a linear lr warmup")
    ap.add_argument("--weights", default="pretrained", help="pretrained (the packaged synthetic backbone), none, FILE")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0, help="data seed, and the first training seed")
    ap.add_argument("--seeds", type=int, default=10, help="training seeds per arm")
    ap.add_argument("--detect-seeds", type=int, default=5, help="seeds whose detection is scored (K fold runs each)")
    ap.add_argument("--relabel-arm", action="store_true",
                    help="also a curated arm that relabels the label issues' argued clips instead of dropping them")
    ap.add_argument("--cl-arm", action="store_true",
                    help="also a curated arm built on confident learning (the --detect-seeds seeds' fold runs)")
    ap.add_argument("--holdout", type=int, default=0,
                    help="score the arms on this many more videos (another generator seed, true labels, no training "
                         "run sees them) instead of the val videos: more videos, a narrower interval")
    ap.add_argument("--samples", type=int, default=2000, help="bootstrap draws")
    ap.add_argument("--workdir", default="/tmp/curate-bench-noise")
    ap.add_argument("--out", help="also write the figures as JSON here")
    ap.add_argument("--reuse", action="store_true",
                    help="keep the workdir of an earlier invocation and reuse its completed runs")
    args = ap.parse_args()
    work = Path(args.workdir)
    width, height = (int(x) for x in args.size.split("x"))
    times = {}
    if not args.reuse or not (work / "ws").exists():
        shutil.rmtree(work, ignore_errors=True)
        t = time.time()
        generate(work / "data", n_train=args.train, n_test=4, width=width, height=height, label_noise=args.noise,
                 n_duplicates=0, n_corrupt=0, seed=args.seed, progress=False)
        times["synth"] = time.time() - t
    t = time.time()
    ws = Workspace.open(work / "ws", backend="lance")
    noisy_src, clean_src, folds_src, val = sources(work / "data", args.val, args.seed)
    for name, source, folds in (("noisy", noisy_src, 0), ("clean", clean_src, 0), ("folds", folds_src, args.folds)):
        if not ws.tables.exists(name, "clips"):
            options = IngestOptions(frame_size=cache_size_for(MODELS["mvit_tiny"].input_size),
                                    label_rule=args.label_rule, folds=folds, seed=args.seed)
            ingest(ws, source, name, options, progress=False)
    scored_on = "noisy/clips@1"
    if args.holdout:
        scored_on = held_out_clips(ws, work, args.holdout, width, height, args.label_rule, args.seed)
    times["ingest"] = time.time() - t
    flipped = set(load_truth(work / "data")["flipped"]) - val  # flips that landed in val were corrected
    n_train = sum(v.split == "train" for v in noisy_src.videos)
    seeds = list(range(args.seed, args.seed + args.seeds))
    print(f"{n_train} train videos ({len(flipped)} flipped, {len(flipped) / n_train:.0%}), {len(val)} val videos "
          f"with true labels; {width}x{height} videos, label rule {args.label_rule}, mvit_tiny 16x64x64 from weights "
          f"{args.weights}, {args.epochs} epochs x {args.draws} draws{' balanced' if args.balance else ''}, warmup "
          f"{args.warmup:g}, batch 8, lr {args.lr or 'of the recipe'}; seeds {seeds[0]}..{seeds[-1]}",
          flush=True)

    cfg = dict(model="mvit_tiny", weights=args.weights, epochs=args.epochs, draws_per_epoch=args.draws, batch_size=8,
               lr=args.lr, balance=args.balance, warmup=args.warmup, workers=args.workers)

    def completed(label: str, table: str) -> str | None:
        """With --reuse: an earlier invocation's completed run of this label on this revision."""
        ref = ws.resolve(table).ref
        for r in reversed(ws.runs.runs() if args.reuse else []):
            record = ws.runs.record(r)
            if r.endswith(f"-{label}") and record.status == "completed" and record.inputs.ref == ref:
                return r
        return None

    def run(label: str, table: str, seed: int) -> str:
        if found := completed(label, table):
            return found
        ref = ws.resolve(table).ref
        start = time.time()
        out = train(ws, TrainConfig(table=table, name=label, **cfg, seed=seed), echo=lambda *a: None, progress=False)
        times[label] = time.time() - start
        print(f"  {label:<12} on {ref:<18} val mAP best {ws.runs.record(out).best_value:.4f}  "
              f"({times[label]:.0f} s)", flush=True)
        return out

    def curated_revision(flagged: list, message: str):
        """noisy/clips@1 with the `flagged` suggestions applied (an earlier invocation's revision of the same
        message is reused)."""
        earlier = [r for r in ws.tables.revisions("noisy", "clips") if r.message == message]
        if earlier:
            return earlier[-1]
        head = ws.tables.revert("noisy", "clips", 1, message="back to the noisy labels") \
            if ws.tables.head("noisy", "clips").number != 1 else ws.tables.head("noisy", "clips")
        if not flagged:  # nothing flagged: the curated arm trains on the noisy labels
            return head
        edits = work / "edits.csv"  # what `curate suggest -o` writes; video rows cascade to their clips
        edits.write_text(to_csv(flagged))
        return ws.tables.edit("noisy", "clips", edit_from_file(ws.tables, head, edits), base=head.number,
                              message=message)

    arms = {"noisy": [], "curated": [], "clean": []}
    relabel_arm, relabelled = "curated (relabel)", []  # relabelled: (clips relabelled, of them now right)
    truth, wrong = true_clip_labels(ws, load_truth(work / "data"), args.label_rule)
    both = f"suggest --runs: AUM averaged or confident learning, {args.folds} folds"
    detection = {"AUM, one run": [], f"confident learning, {args.folds}-fold OOF (curate)": [],
                 f"cleanlab find_label_issues, {args.folds}-fold OOF": [], both: []}
    for seed in seeds:
        noisy = run(f"noisy-s{seed}", "noisy/clips@1", seed)
        flagged = label_issues(ws, noisy)
        revision = curated_revision(flagged, f"weight 0 for {len(flagged)} AUM label issues of {noisy}")
        arms["noisy"].append(noisy)
        arms["curated"].append(run(f"curated-s{seed}", revision.ref, seed))
        arms["clean"].append(run(f"clean-s{seed}", "clean/clips@1", seed))
        detection["AUM, one run"].append(scores({s.id for s in flagged}, flipped))  # free: every seed
        if args.relabel_arm:
            fixes = label_issues(ws, noisy, action="label")
            names = ws.runs.record(noisy).classes
            right = sum(truth[s.id] == names.index(s.value) for s in fixes)
            relabelled.append((len(fixes), right, len(wrong & {s.id for s in fixes})))
            revision = curated_revision(fixes, f"relabel {len(fixes)} clips of AUM label issues of {noisy}")
            arms.setdefault(relabel_arm, []).append(run(f"relabel-s{seed}", revision.ref, seed))
    cl_arm = f"curated (CL, {args.folds}-fold)"
    for seed in seeds[:args.detect_seeds]:  # after the arms: the verdict first, the detector table second
        fold_runs = [completed(f"s{seed}-fold{f}", "folds/clips@1") for f in range(args.folds)]
        if not all(fold_runs):
            fold_runs = train_folds(ws, TrainConfig(table="folds/clips@1", name=f"s{seed}-fold", **cfg, seed=seed),
                                    args.folds, echo=lambda *a: None, progress=False)
        flagged = confident_learning(ws, fold_runs)
        detection[f"confident learning, {args.folds}-fold OOF (curate)"].append(
            scores({s.id for s in flagged}, flipped))
        detection[f"cleanlab find_label_issues, {args.folds}-fold OOF"].append(
            scores(cleanlab_videos(out_of_fold_probabilities(ws, fold_runs)), flipped))
        detection[both].append(scores({s.id for s in label_issues_of_runs(ws, fold_runs, [])}, flipped))
        if args.cl_arm:  # one round curated by confident learning instead of AUM (same videos: the ids match)
            revision = curated_revision(flagged, f"weight 0 for {len(flagged)} CL label issues of s{seed} folds")
            arms.setdefault(cl_arm, []).append(run(f"curatedcl-s{seed}", revision.ref, seed))
    averaged = {s.id for s in label_issues(ws, arms["noisy"][0], repeats=arms["noisy"][1:])}
    detection[f"AUM averaged over {len(seeds)} seed repeats"] = [scores(averaged, flipped)]

    t = time.time()
    result = compare(ws, [], on=scored_on, samples=args.samples,
                     groups=arms, keep_draws=True,
                     collect=lambda w, r, ref, checkpoint: collect(w, r, ref, checkpoint, progress=False))
    times["compare"] = time.time() - t
    draws = result.pop("draws")  # (samples, arms): the arms in the order of `arms`
    column = {arm: k for k, arm in enumerate(arms)}
    gap = draws[:, column["clean"]] - draws[:, column["noisy"]]
    values = {g["name"]: g["value"] for g in result["groups"]}
    recovered, share = {}, {}
    for arm in arms:
        if arm not in ("noisy", "clean"):
            recovered[arm] = (draws[:, column[arm]] - draws[:, column["noisy"]]) / np.where(gap != 0, gap, np.nan)
            share[arm] = (values[arm] - values["noisy"]) / (values["clean"] - values["noisy"])

    s = result["set"]
    print(f"\nmAP on {s['clips']} clips of {s['videos']} {'held-out' if args.holdout else 'val'} videos "
          f"({s['table']}; true labels), "
          f"{len(seeds)} seeds per arm, 95% intervals over {args.samples} paired draws (videos and seeds resampled)")
    print(f"{'arm':<21} {'mAP':>7}  {'interval':<18} {'seed sd':>7}  per seed")
    for g in result["groups"]:  # one seed per arm: compare measures no seed variance, so no interval is shown
        print(f"{g['name']:<21} {g['value']:7.4f}  {span(g['interval']):<18} "
              f"{'—' if g['seed_sd'] is None else format(g['seed_sd'], '7.4f'):>7}  "
              f"{' '.join(f'{v:.3f}' for v in g['seeds'])}")
    for d in result["differences"]:
        print(f"{d['b']} − {d['a']}: {d['difference']:+.4f} {span(d['interval'], '+')}, P(better) "
              + ("unmeasured (one seed)" if d["p_b_better"] is None else f"{d['p_b_better']:.2f}"))
    gap_low, gap_high = interval(gap)
    for arm, ratios in recovered.items():
        low, high = interval(ratios)
        print(f"share of the noisy→clean gap recovered by {arm}: {share[arm]:.0%} [{low:.0%}, {high:.0%}] "
              f"(goal >= 60%, interval above 0)")
    print(f"gap clean − noisy {values['clean'] - values['noisy']:+.4f} [{gap_low:+.4f}, {gap_high:+.4f}]")
    if gap_low <= 0:
        print("  the noise did not measurably hurt here (the gap's interval reaches 0): the share means little")
    if relabelled:
        n, right, fixed = (sum(x) for x in zip(*relabelled))
        print(f"relabelled train clips per seed: {' '.join(str(k[0]) for k in relabelled)}; {right} of {n} "
              f"({right / max(n, 1):.0%}) now carry their true label; {fixed / len(relabelled):.1f} of the "
              f"{len(wrong)} wrong train clips fixed a seed")
    noisy_best = {r: ws.runs.record(r).best_value for r in arms["noisy"]}
    print("noisy-arm runs' best val mAP (each must learn: >= 0.75): "
          + " ".join(f"{v:.3f}" for v in noisy_best.values())
          + f" → {'every seed learned' if min(noisy_best.values()) >= 0.75 else 'NOT every seed learned'}")

    print(f"\nlabel-issue detection per video ({len(flipped)} flipped of {n_train} train videos), mean ± sd over "
          f"seeds: AUM one run {seeds[0]}..{seeds[-1]}, fold-based {args.detect_seeds} seed(s) from {seeds[0]}")
    print(f"{'detector':<46} {'flagged':>11} {'precision':>13} {'recall':>13} {'F1':>13}")
    figures = {"arms": result, "recovered": {arm: {"share": share[arm], "interval": interval(recovered[arm])}
                                             for arm in recovered}, "gap": [gap_low, gap_high],
               "detection": {},
               "times": times}
    for name, per_seed in detection.items():
        if not per_seed:  # no fold runs asked for (--detect-seeds 0)
            continue
        p, r, f1, n = zip(*per_seed)
        figures["detection"][name] = {"precision": p, "recall": r, "f1": f1, "flagged": n}
        print(f"{name:<46} {mean_sd(n):>11} {mean_sd(p):>13} {mean_sd(r):>13} {mean_sd(f1):>13}")
    print("stage seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in times.items()))
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2, default=float))


if __name__ == "__main__":
    main()
