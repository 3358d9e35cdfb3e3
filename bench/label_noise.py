"""Label noise: does one run's training dynamics find flipped labels as well as cleanlab on k-fold
out-of-fold probabilities, and does one curation round recover the accuracy the noise cost?

Synthetic Nexar-style data with a share of the train videos' labels flipped. The validation videos keep
their true labels in every dataset (so val mAP measures the same thing everywhere); the rest is ingested
three times from the same files:
- `noisy`: the CSV labels as given;
- `clean`: the true labels (the generator's ground truth) — the ceiling;
- `folds`: the CSV labels with a K-fold column over the train videos, for out-of-fold probabilities.

Detection is scored per video (labels are given per video; an edit acts on a video) against the videos the
generator flipped:
- AUM: `curate suggest`'s label issues from the noisy run alone (a video's mean AUM over the clips carrying its
  label, more than 1.5 robust SD below the other videos of that label);
- CL (ours): `curate suggest --fold-runs` on the K fold runs: a video is flagged when at least a quarter of its
  clips are confidently another class;
- cleanlab: `cleanlab.filter.find_label_issues` on the same out-of-fold probabilities, with the same
  quarter-of-the-clips rule per video.
The curated round gives the AUM-flagged videos weight 0 on the noisy table and retrains on `latest`.

    uv run --group bench python bench/label_noise.py [--train 250] [--noise 0.2] [--folds 4] [--epochs 6]
"""
from __future__ import annotations

import argparse
import copy
import json
import shutil
import time
from pathlib import Path

import numpy as np
from cleanlab.filter import find_label_issues

from curation.ingest.pipeline import IngestOptions, ingest
from curation.ingest.sources import read_nexar
from curation.ingest.splits import hold_out
from curation.review.suggest import (confident_learning, contradicted_videos, label_issues, out_of_fold_probabilities,
                                     to_csv)
from curation.synth import generate, load_truth
from curation.tables.requests import edit_from_file
from curation.train.config import TrainConfig
from curation.train.loop import train, train_folds
from curation.workspace import Workspace


def sources(data: Path, val_fraction: float, seed: int):
    """The three views of one synthetic folder: (noisy, clean, folds) sources and the val video ids."""
    truth = load_truth(data)["videos"]
    base = read_nexar(data)
    train_videos = [v for v in base.videos if v.split is None]
    val = hold_out([v.group for v in train_videos], [truth[v.video_id]["target"] for v in train_videos],
                     val_fraction, seed)

    def view(true_labels: bool, fixed_split: bool):
        source = copy.deepcopy(base)
        for v in source.videos:
            if v.split == "test":
                continue
            if true_labels or v.video_id in val:
                t = truth[v.video_id]
                v.label = t["target"]
                v.event_s, v.alert_s = (t["time_of_event"], t["time_of_alert"]) if t["target"] else (None, None)
            v.split = "val" if v.video_id in val else ("train" if fixed_split else None)
        return source

    return view(False, True), view(True, True), view(False, False), val


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


def val_maps(ws, run: str) -> tuple[float, float]:
    record = ws.runs.record(run)
    return record.best_value, record.epochs[-1]["val"]["mAP"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=250, help="train.csv videos (a fifth of them become val)")
    ap.add_argument("--noise", type=float, default=0.2, help="share of train videos with a flipped label")
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--draws", type=int, default=1600)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0, help="data seed, and the training seed of the first round")
    ap.add_argument("--seeds", type=int, default=1,
                    help="curation rounds (noisy, curated, clean) with training seeds seed, seed+1, …: "
                         "val mAP is compared on their means")
    ap.add_argument("--workdir", default="/tmp/curate-bench-noise")
    ap.add_argument("--out", help="also write the figures as JSON here")
    ap.add_argument("--reuse", action="store_true",
                    help="keep the workdir of an earlier invocation and reuse its completed runs where their "
                         "table revision is the same")
    args = ap.parse_args()
    work = Path(args.workdir)
    times = {}
    if not args.reuse or not (work / "ws").exists():
        shutil.rmtree(work, ignore_errors=True)
        t = time.time()
        generate(work / "data", n_train=args.train, n_test=4, label_noise=args.noise, n_duplicates=0, n_corrupt=0,
                 seed=args.seed, progress=False)
        times["synth"] = time.time() - t
    t = time.time()
    ws = Workspace.open(work / "ws", backend="lance")
    noisy_src, clean_src, folds_src, val = sources(work / "data", 0.2, args.seed)
    for name, source, folds in (("noisy", noisy_src, 0), ("clean", clean_src, 0), ("folds", folds_src, args.folds)):
        if not ws.tables.exists(name, "clips"):
            ingest(ws, source, name, IngestOptions(frame_size=64, folds=folds, seed=args.seed), progress=False)
    times["ingest x3"] = time.time() - t
    flipped = set(load_truth(work / "data")["flipped"]) - val  # flips that landed in val were corrected
    n_train = sum(v.split == "train" for v in noisy_src.videos)
    print(f"{n_train} train videos ({len(flipped)} flipped, {len(flipped) / n_train:.0%}), {len(val)} val videos "
          f"with true labels; mvit_tiny 16x64x64, {args.epochs} epochs x {args.draws} draws, batch 8")

    cfg = dict(model="mvit_tiny", weights="none", epochs=args.epochs, draws_per_epoch=args.draws, batch_size=8,
               lr=5e-4, workers=args.workers)
    runs = {}

    def done(label: str, table: str) -> str | None:
        """A completed run of an earlier invocation with this name, on the same revision."""
        if not args.reuse:
            return None
        ref = ws.resolve(table).ref
        records = {r: ws.runs.record(r) for r in ws.runs.runs() if r.endswith(f"-{label}")}
        found = [r for r, rec in records.items() if rec.status == "completed" and rec.inputs.ref == ref]
        return found[-1] if found else None

    def run(label: str, table: str, seed: int) -> str:
        start = time.time()
        runs[label] = done(label, table) or train(ws, TrainConfig(table=table, name=label, **cfg, seed=seed),
                                                  echo=lambda *a: None, progress=False)
        times[f"train {label}"] = time.time() - start
        print(f"  {label:<8} val mAP best {val_maps(ws, runs[label])[0]:.4f}  ({times[f'train {label}']:.0f} s)",
              flush=True)
        return runs[label]

    def curation_round(seed: int) -> tuple[str, list]:
        """noisy → AUM suggestions at weight 0 → curated, and the clean ceiling, all with one training seed.
        The first seed keeps the plain run names, so that earlier invocations' runs are reused."""
        tag = "" if seed == args.seed else f"-s{seed}"
        noisy = run(f"noisy{tag}", "noisy/clips@1", seed)
        flagged = label_issues(ws, noisy)
        message = f"weight 0 for {len(flagged)} AUM label issues of {noisy}"
        earlier = [r for r in ws.tables.revisions("noisy", "clips") if r.message == message]
        if earlier:  # the same run's suggestions were applied by an earlier invocation: the same revision
            head = earlier[-1]
        else:
            head = ws.tables.head("noisy", "clips")
            if head.number != 1:  # another round's curation: start again from the noisy labels
                head = ws.tables.revert("noisy", "clips", 1, message="back to the noisy labels")
            if flagged:  # nothing flagged: the curated round trains on the noisy labels
                edits = work / "edits.csv"  # what `curate suggest -o` writes; video rows cascade to their clips
                edits.write_text(to_csv(flagged))
                head = ws.tables.edit("noisy", "clips", edit_from_file(ws.tables, head, edits), base=head.number,
                                      message=message)
        run(f"curated{tag}", head.ref, seed)
        run(f"clean{tag}", "clean/clips@1", seed)
        return tag, flagged

    tags, aum_by_seed = [], {}
    for seed in range(args.seed, args.seed + args.seeds):
        tag, flagged = curation_round(seed)
        tags.append(tag)
        aum_by_seed[seed] = scores({s.id for s in flagged}, flipped)
        print("  AUM label issues of seed {}: {:.0f} flagged, P {:.3f} R {:.3f} F1 {:.3f}".format(
            seed, aum_by_seed[seed][3], *aum_by_seed[seed][:3]), flush=True)
        if seed == args.seed:
            aum = flagged

    start = time.time()
    fold_runs = [done(f"fold{k}", "folds/clips@1") for k in range(args.folds)]
    if not all(fold_runs):
        fold_runs = train_folds(ws, TrainConfig(table="folds/clips@1", name="fold", **cfg, seed=args.seed), args.folds,
                                echo=lambda *a: None, progress=False)
    times[f"train {args.folds} folds"] = time.time() - start
    oof = out_of_fold_probabilities(ws, fold_runs)

    detectors = {
        "AUM, one run (curate suggest)": {s.id for s in aum},
        f"confident learning, {args.folds}-fold OOF (curate)": {s.id for s in confident_learning(ws, fold_runs)},
        f"cleanlab find_label_issues, {args.folds}-fold OOF": cleanlab_videos(oof),
    }
    print(f"\nlabel-issue detection per video ({len(flipped)} flipped of {n_train} train videos)")
    print(f"{'detector':<44} {'flagged':>7} {'precision':>9} {'recall':>6} {'F1':>6}")
    figures = {"detection": {}, "aum_by_seed": aum_by_seed, "val_mAP": {}, "times": times}
    for name, found in detectors.items():
        p, r, f1, n = scores(found, flipped)
        figures["detection"][name] = {"flagged": n, "precision": p, "recall": r, "f1": f1}
        print(f"{name:<44} {n:>7} {p:9.3f} {r:6.3f} {f1:6.3f}")

    print(f"\nval mAP ({len(val)} val videos, true labels; training seeds {args.seed}..{args.seed + args.seeds - 1})")
    print(f"{'arm':<10} {'best epoch per seed':<30} {'mean':>6} {'sd':>6}   last-epoch mean")
    for arm in ("noisy", "clean", "curated"):
        per_seed = np.array([val_maps(ws, runs[arm + tag]) for tag in tags])  # (seeds, best|last)
        figures["val_mAP"][arm] = {"best": per_seed[:, 0].tolist(), "last": per_seed[:, 1].tolist()}
        print(f"{arm:<10} {' '.join(f'{m:.4f}' for m in per_seed[:, 0]):<30} {per_seed[:, 0].mean():6.4f} "
              f"{per_seed[:, 0].std():6.4f}   {per_seed[:, 1].mean():.4f}")
    for which in ("best", "last"):
        m = {arm: np.mean(v[which]) for arm, v in figures["val_mAP"].items()}
        gap = m["clean"] - m["noisy"]
        share = (m["curated"] - m["noisy"]) / gap if gap > 0 else float("nan")
        figures[f"recovered_{which}"] = share
        print(f"share of the noisy→clean gap recovered ({which} epoch, seed means): {share:.0%} (gap {gap:+.4f})")
    print("stage seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in times.items()))
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
