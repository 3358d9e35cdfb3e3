"""Mis-timed event labels: does `suggest`'s timing signal find the videos whose event and alert times were moved,
how close are the times it suggests, and does retiming them help? Over several synthetic seeds.

Per seed: a Nexar-style synthetic dataset whose generator moved the event and alert times of a share of the
rightly labelled train positives by `--shift` seconds (either way; the truth is in ground_truth.json); ingest;
one tiny-model run (`noisy`); `predict-events` with it over the dataset's videos; the timing signal
(`suggest.timing_issues`) scored per video against the generator's moved videos — precision, recall, and the
error of each suggested time against the true one. With `--retrain`: the suggestions applied (`retime`),
`--repeats` training seeds on the noisy revision (the first is the run above) and as many on the retimed one,
each predicting the val videos' event times (their times were not moved), and `compare()`'s event F1 at ±0.5 s
of the two groups: the difference with its 95% interval over the val videos and the seeds. With `--holdout N` every
run also predicts N more videos (generator seed + 50, true times, seen by no run) with the picker fitted on its own
val videos, and the arms' F1 is compared there too (16 val videos a seed move F1 in steps of a video).

    uv run --group bench python bench/timing.py [--train 80] [--seeds 3] [--shift 0.75-2] [--share 0.2]
        [--epochs 8] [--draws 500] [--retrain] [--repeats 3] [--holdout N] [--workdir /tmp/curate-bench-timing]
        [--reuse]
"""
from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
from label_noise import mean_sd  # a sibling script (bench/ is on the path when a script runs)

from curation.events.predict import predict_events
from curation.events.stored import newest_prediction
from curation.events.times import EventPicker, f1_of_counts, video_counts
from curation.frames.cache import cache_size_for
from curation.ingest.layouts import LAYOUTS, read_nexar
from curation.ingest.pipeline import IngestOptions, ingest
from curation.ingest.retime import retime
from curation.models.mvit import MODELS
from curation.review.compare import compare, interval, paired_bootstrap
from curation.review.suggest import timing_issues
from curation.runs.protocol import CollectionKey
from curation.synth import generate, load_truth
from curation.synth_views import labelled_view
from curation.train.collect import collect
from curation.train.config import TrainConfig
from curation.train.loop import train
from curation.workspace import Workspace

F1 = "event_f1@0.5s"


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


def completed(ws, label: str, ref: str) -> str | None:
    """An earlier invocation's completed run of this label on this revision (with --reuse)."""
    for r in reversed(ws.runs.runs()):
        record = ws.runs.record(r)
        if r.endswith(f"-{label}") and record.status == "completed" and record.inputs.ref == ref:
            return r
    return None


def events_of(ws, run: str, ref: str, again: bool, **kw) -> dict:
    """The run's predict-events result on `ref`: the stored one unless `again` (or there is none)."""
    name = CollectionKey.of(ws.resolve(ref), home=ws.runs.record(run).inputs.dataset)
    stored = ws.runs.record(run).evaluations.get(f"events:{name}")
    return stored if stored and not again else predict_events(ws, run, ref, progress=False, **kw)


def labelled_times(ws, dataset: str, videos_ref: dict | None = None, split: str | None = None) -> dict:
    """video id → labelled event times of `dataset`'s videos (the pinned revision, else the head), of one split."""
    task = ws.task(dataset)
    rows = ws.tables.read(task.videos_at(ws.tables, videos_ref)).to_pylist()
    return {v["video_id"]: LAYOUTS[task.layout].labelled_times(v) or [] for v in rows
            if split is None or v["split"] == split}


def held_out_counts(ws, run: str, own: dict, ref: str, truth: dict) -> np.ndarray:
    """(matched, predicted, labelled) at ±0.5 s per held-out video, the events picked as the run picks them on its
    own val videos (`own`: its predict-events result there; the held-out curves are reused, the pick is not)."""
    dataset = ref.split("/")[0]
    found = newest_prediction(ws, run, dataset)
    if found is None:
        predict_events(ws, run, ref, progress=False)
        found = newest_prediction(ws, run, dataset)
    picker = EventPicker(own["threshold"], own["min_gap_s"], own["offset_s"])
    predicted = {v: picker.times(t, s) for v, (t, s) in found[1].items()}
    return video_counts(predicted, truth, sorted(truth), 0.5)


def pooled_f1(pooled: dict, what: str, seeds: int) -> None:
    """Every seed's videos in one paired bootstrap, repeat k of each seed as one run."""
    videos = np.array([v for names, _ in pooled["noisy"][0] for v in names], dtype=object)
    groups = [[np.vstack([c for _, c in pooled[arm][k]]) for k in sorted(pooled[arm])] for arm in pooled]
    draws = paired_bootstrap(videos, groups, lambda idx, c: f1_of_counts(c[idx].sum(0)))
    point = [np.mean([f1_of_counts(c.sum(0)) for c in runs]) for runs in groups]
    low, high = interval(draws[:, 1] - draws[:, 0])
    print(f"  pooled over {seeds} seeds ({len(videos)} {what} videos, {len(groups[0])} training seeds a side): "
          f"event F1@0.5s noisy {point[0]:.3f}, retimed {point[1]:.3f}, retimed − noisy "
          f"{point[1] - point[0]:+.3f} [{low:+.3f}, {high:+.3f}], P(better) {(draws[:, 1] > draws[:, 0]).mean():.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=80, help="train.csv videos (a fifth become val)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0, help="the first data and training seed")
    ap.add_argument("--shift", default="0.75-2", help="LO-HI seconds a moved video's times move")
    ap.add_argument("--share", type=float, default=0.2, help="share of the rightly labelled train positives moved")
    ap.add_argument("--size", default="160x96")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--label-rule", default="alert", help="which clips are positive: alert or horizon:SECONDS")
    ap.add_argument("--tolerance", type=float, default=0.5, help="a label this close to a peak is right")
    ap.add_argument("--retrain", action="store_true", help="apply the suggestions, retrain, compare event F1")
    ap.add_argument("--repeats", type=int, default=3, help="training seeds per arm with --retrain")
    ap.add_argument("--holdout", type=int, default=0, help="with --retrain, also score event F1 on this many more "
                    "videos (true times, seen by no run)")
    ap.add_argument("--workdir", default="/tmp/curate-bench-timing")
    ap.add_argument("--reuse", action="store_true", help="keep the workdir, its completed runs and their event times")
    ap.add_argument("--repredict", action="store_true", help="predict the runs' event times again (after a change to "
                    "how curves become times)")
    args = ap.parse_args()
    lo, hi = (float(x) for x in args.shift.split("-"))
    width, height = (int(x) for x in args.size.split("x"))
    work = Path(args.workdir)
    if not args.reuse:
        shutil.rmtree(work, ignore_errors=True)
    cfg = dict(model="mvit_tiny", weights="pretrained", epochs=args.epochs, draws_per_epoch=args.draws, batch_size=8,
               workers=0)
    print(f"{args.train} train.csv videos, {args.share:.0%} of the rightly labelled train positives moved "
          f"{lo:g}–{hi:g} s; label rule {args.label_rule}; mvit_tiny {args.epochs} epochs x {args.draws} draws; seeds "
          f"{args.seed}..{args.seed + args.seeds - 1}", flush=True)
    rows = []
    pooled = {"noisy": {}, "retimed": {}}  # arm → repeat → (val video, counts at ±0.5 s) of every seed
    pooled_held = {"noisy": {}, "retimed": {}}  # the same on the held-out videos
    for seed in range(args.seed, args.seed + args.seeds):
        started = time.time()
        data, ws_dir = work / f"s{seed}" / "data", work / f"s{seed}" / "ws"
        if not (data / "ground_truth.json").exists():
            generate(data, n_train=args.train, n_test=4, width=width, height=height, seed=seed,
                     time_noise=(lo, hi), time_noise_share=args.share, progress=False)
        ws = Workspace.open(ws_dir, backend="lance")
        ingest(ws, read_nexar(data), "nexar", IngestOptions(frame_size=cache_size_for(MODELS["mvit_tiny"].input_size),
                                                           label_rule=args.label_rule, seed=seed), progress=False)
        truth = load_truth(data)
        moved = truth["retimed"]
        noisy = completed(ws, "noisy", "nexar/clips@1") or train(
            ws, TrainConfig(table="nexar/clips@1", name="noisy", seed=seed, **cfg), echo=lambda *a: None,
            progress=False)
        events = events_of(ws, noisy, "nexar/clips@1", args.repredict)
        notes: list[str] = []
        found = timing_issues(ws, noisy, notes, tolerance_s=args.tolerance)
        flagged = {s.id: float(s.value.split(":")[-1]) for s in found}
        hits = set(flagged) & set(moved)
        errors = [abs(flagged[v] - truth["videos"][v]["time_of_event"]) for v in hits]
        row = {"seed": seed, "moved": len(moved), "flagged": len(flagged),
               "precision": len(hits) / len(flagged) if flagged else 0.0,
               "recall": len(hits) / len(moved) if moved else 0.0,
               "median_error_s": float(np.median(errors)) if errors else float("nan"),
               "noisy_f1": events["metrics"]["val"][F1], "best": ws.runs.record(noisy).best_value}
        if args.retrain and flagged:
            head = ws.tables.head("nexar", "clips")
            if head.number == 1:
                retime(ws, "nexar", {v: [(None, t)] for v, t in flagged.items()},
                       message=f"retime of {len(flagged)} videos suggested by {noisy}")
                head = ws.tables.head("nexar", "clips")
            arms = {"noisy": [noisy], "retimed": []}
            own = {noisy: events}  # each run's predict-events result on its own val videos
            for k in range(args.repeats):
                for arm, ref in (("noisy", "nexar/clips@1"), ("retimed", head.ref)):
                    if arm == "noisy" and k == 0:
                        continue  # the run the suggestions came from
                    label = f"{arm}-r{k}"
                    run = completed(ws, label, ref) or train(
                        ws, TrainConfig(table=ref, name=label, seed=seed + 1000 * k, **cfg), echo=lambda *a: None,
                        progress=False)
                    own[run] = events_of(ws, run, ref, args.repredict, splits=("val",))
                    arms[arm].append(run)
            passes = lambda w, r, ref, c: collect(w, r, ref, c, progress=False)  # noqa: E731
            compared = compare(ws, [], groups=arms, collect=passes)
            events = compared["events"]["metrics"][F1]
            (noisy_f1, retimed_f1), d = [g["value"] for g in events["groups"]], events["differences"][0]
            clips = compared["differences"][0]  # the clip metric (val mAP) of the same runs, for contrast
            row.update(noisy_f1=noisy_f1, retimed_f1=retimed_f1, gain=d["difference"], gain_low=d["interval"][0],
                       gain_high=d["interval"][1], p_better=d["p_b_better"], map_gain=clips["difference"],
                       map_gain_low=clips["interval"][0], map_gain_high=clips["interval"][1])
            # the val videos' times as the noisy revision has them (the generator's)
            val = labelled_times(ws, "nexar", ws.runs.record(noisy).inputs.videos, "val")
            for arm, runs in arms.items():
                for k, run in enumerate(runs):
                    counts = video_counts(own[run]["predicted"], val, sorted(val), 0.5)
                    pooled[arm].setdefault(k, []).append(([f"s{seed}:{v}" for v in sorted(val)], counts))
            if args.holdout:
                dataset = held_out_videos(ws, work / f"s{seed}", args.holdout, width, height, args.label_rule, seed)
                held, truth_held = ws.tables.head(dataset, "clips").ref, labelled_times(ws, dataset)
                for arm, runs in arms.items():
                    f1s = []
                    for k, run in enumerate(runs):
                        counts = held_out_counts(ws, run, own[run], held, truth_held)
                        pooled_held[arm].setdefault(k, []).append(
                            ([f"s{seed}:{v}" for v in sorted(truth_held)], counts))
                        f1s.append(f1_of_counts(counts.sum(0)))
                    row[f"held_{arm}_f1"] = float(np.mean(f1s))
        row["minutes"] = (time.time() - started) / 60
        rows.append(row)
        print("  " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items())
              + (f"  ({'; '.join(notes)})" if notes else ""), flush=True)

    print(f"\ntiming signal per video against the generator's moved videos, mean ± sd over {len(rows)} seed(s)")
    for key in ("flagged", "precision", "recall", "median_error_s", "noisy_f1", "retimed_f1", "gain", "held_noisy_f1",
                "held_retimed_f1"):
        values = [r[key] for r in rows if key in r]
        if values:
            print(f"  {key:<16} {mean_sd(values)}   per seed: {' '.join(f'{v:.3f}' for v in values)}")
    if pooled["retimed"]:
        pooled_f1(pooled, "val", len(rows))
    if pooled_held["retimed"]:
        pooled_f1(pooled_held, "held-out", len(rows))
        for arm, repeats in pooled_held.items():  # how much one training seed's F1 varies, arm by arm
            f1s = [f1_of_counts(c.sum(0)) for k in sorted(repeats) for _, c in repeats[k]]
            print(f"  held-out event F1@0.5s of each {arm} run: {mean_sd(f1s)}   {' '.join(f'{v:.3f}' for v in f1s)}")
    for r in rows:
        if "gain" in r:
            print(f"  seed {r['seed']}: event F1@0.5s retimed − noisy {r['gain']:+.3f} [{r['gain_low']:+.3f}, "
                  f"{r['gain_high']:+.3f}] over the val videos and {args.repeats} training seeds a side, "
                  f"P(better) {r['p_better']:.2f}; val mAP {r['map_gain']:+.3f} [{r['map_gain_low']:+.3f}, "
                  f"{r['map_gain_high']:+.3f}]")


if __name__ == "__main__":
    main()
