"""`curate demo`: the loop on a synthetic dataset, offline, on CPU, in a few minutes, in either world.

synth (with wrong labels, duplicates and corrupt files) → ingest → train the tiny MViT (round 1, with
per-sample dynamics and a collection pass) → suggest → apply the suggestions as a new revision → retrain on
`latest` (round 2), then score what was flagged against what the generator injected, and both rounds on a
held-out test set of TEST_VIDEOS videos no run or choice saw, with a paired interval over its videos:
- nexar (dashcam collision prediction; instance noise as annotators make it: near misses and cut-ins among the
  negatives, dim crashes among the positives, and the wrong labels mostly on them): each round's submission,
  test AP against the generator's labels;
- actions (action recognition, K = 10 classes in look-alike pairs, class-conditional noise, half the generator's
  nuisance): accuracy on the test split's clips.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from curation.csvio import read_rows
from curation.errors import BadInput, CurateError
from curation.frames.cache import cache_size_for
from curation.ingest.pipeline import IngestOptions, ingest
from curation.models.mvit import MODELS
from curation.synth import generate, load_truth
from curation.synth_actions import generate_actions
from curation.synth_noise import check_noise_model
from curation.synth_views import checked_val, labelled_view
from curation.review.compare import compare, interval, paired_bootstrap, verdict
from curation.review.suggest import suggest
from curation.review.suggestion import to_csv
from curation.runs.learning import learning_check
from curation.submit import submit
from curation.tables.commit import commit_edit
from curation.tables.requests import edit_from_file
from curation.task import SAMPLES
from curation.train.config import TrainConfig
from curation.train.collect import collect
from curation.train.loop import train
from curation.workspace import Workspace


VIDEOS = {"nexar": 60, "actions": 400}  # labelled videos (a quarter of them the checked val split)
TEST_VIDEOS = 200  # held out, scored for both rounds
CLASSES = 10  # the actions world
# The actions demo's world: short videos (one to three clips each: more videos for the same training draws) at half
# the generator's nuisance (backgrounds, pan, occluders), so that a minute of training a round reads it (val 0.72
# against 0.63 at full nuisance, seed 0: bench/README.md); bench/label_noise.py's actions tables use the same world.
ACTIONS_DURATION_S, ACTIONS_NUISANCE = (2.2, 2.7), 0.5
VAL_FRACTION = 0.25
# per round, from the tiny model's pretrained weights (the default for mvit_tiny); chosen on val (bench/README.md;
# actions: 4 epochs since issue 41's session 8, for the demo's minutes: within 0.01 of five on decision seeds)
BUDGET = {"nexar": {"epochs": 3, "draws_per_epoch": 500}, "actions": {"epochs": 4, "draws_per_epoch": 500, "lr": 2e-3}}
TASKS = ("nexar", "actions")
# each world's noise model unless told otherwise: as annotators err (nexar: uniform flips until issue 41's session
# 14, whose noise cost the pretrained start nothing to recover on most seeds: bench/README.md)
NOISE = {"nexar": "instance", "actions": "class-conditional"}
HARD_CASES = 0.3  # nexar with instance noise: near misses, cut-ins and hard-to-see crashes, as in its bench table


def make_world(task: str, data: Path, seed: int, quick: bool, noise_model: str | None = None) -> None:
    """The demo's synthetic dataset: 20% of the labels wrong (by the world's noise model unless told another), two
    near-duplicates, three corrupt files."""
    noise_model = noise_model or NOISE[task]
    if task == "nexar":
        generate(data, n_train=12 if quick else VIDEOS[task], n_test=6 if quick else TEST_VIDEOS, width=160,
                 height=96, duration_s=4.0 if quick else 6.0, test_duration_s=3.0 if quick else 4.0, label_noise=0.2,
                 noise_model=noise_model, hard_cases=HARD_CASES if noise_model == "instance" else 0.0,
                 n_duplicates=2, n_corrupt=3, seed=seed, progress=not quick)
    else:
        # quick (the tests' world) keeps full nuisance: at half, a group's videos share almost everything and a
        # planted copy's next-nearest sibling can fail the near-duplicate ratio test (bench/README.md)
        generate_actions(data, n_train=24 if quick else VIDEOS[task], n_test=6 if quick else TEST_VIDEOS,
                         n_classes=4 if quick else CLASSES, width=96, height=96,
                         duration_s=(2.4, 2.8) if quick else ACTIONS_DURATION_S, test_duration_s=(2.4, 2.7),
                         label_noise=0.2, noise_model=noise_model, n_duplicates=2, n_corrupt=3, seed=seed,
                         nuisance=1.0 if quick else ACTIONS_NUISANCE, progress=not quick)


def nexar_test_scores(ws, folder: Path, runs: list[str], truth: dict, echo) -> dict:
    """Each round's submission against the generator's test labels: test AP per run, the paired difference of the
    last to the first with a 95% interval over test videos, and the submissions."""
    from curation.metrics import average_precision

    scores, files = {}, {}
    for k, run in enumerate(runs):
        out = folder / ("submission.csv" if k == len(runs) - 1 else f"submission-round{k + 1}.csv")
        submit(ws, [run], out=out, echo=echo if k == len(runs) - 1 else (lambda *_: None), progress=False)
        rows = read_rows(out, ["id", "target"], "submission")
        scores[run] = {r["id"]: float(r["target"]) for r in rows}
        files[run] = out
    ids = sorted(scores[runs[0]])
    positive = np.array([truth["videos"][v]["target"] == 1 for v in ids])
    per_run = [np.array([scores[r][v] for v in ids]) for r in runs]
    draws = paired_bootstrap(np.array(ids, dtype=object), [[s] for s in per_run],
                             lambda idx, s: average_precision(positive[idx], s[idx]), samples=2000)
    return {"metric": "test AP", "videos": len(ids), "values": {r: average_precision(positive, s)
                                                                for r, s in zip(runs, per_run)},
            "interval": interval(draws[:, -1] - draws[:, 0]), "submissions": files}


def actions_test_scores(ws, runs: list[str]) -> dict:
    """Accuracy of each round on the test split's clips, the paired difference with a 95% interval over test
    videos (`compare` on the test split)."""
    compared = compare(ws, runs, split="test", samples=2000,
                       collect=lambda w, run, ref, checkpoint: collect(w, run, ref, checkpoint, progress=False))
    d = compared["differences"][0]
    return {"metric": "test accuracy", "videos": compared["set"]["videos"],
            "values": {g["runs"][0]: g["value"] for g in compared["groups"]}, "interval": tuple(d["interval"]),
            "submissions": {}}


def score_suggestions(found, truth: dict, checked: set[str] = frozenset()) -> dict[str, tuple[int, int, int]]:
    """(flagged, injected, found) per signal, against the generator's ground truth. A duplicate pair counts
    as found when either copy is flagged; a flip of a `checked` video (ingested under its true label) is not
    in the data, so not there to find."""
    flipped = set(truth["flipped"]) - set(checked)
    kinds = {"label issue": [], "near-duplicate": [], "unreadable": [], "outlier": []}
    for s in found:  # a leak is a near-duplicate across splits; a relabel's clip counts as its video
        kinds.setdefault("near-duplicate" if s.signal == "leak" else s.signal, []).append(s.video or s.id)
    pairs = truth["duplicates"]
    labels = set(kinds["label issue"])
    return {
        "label issue": (len(labels), len(flipped), len(labels & flipped)),
        "near-duplicate": (len(kinds["near-duplicate"]), len(pairs),
                           sum(bool(set(kinds["near-duplicate"]) & set(p)) for p in pairs)),
        "unreadable": (len(kinds["unreadable"]), len(truth["corrupt"]),
                       len(set(kinds["unreadable"]) & set(truth["corrupt"]))),
        "outlier": (len(kinds["outlier"]), 0, 0),  # the generator injects none: every flag is a false alarm
    }


def run_demo(folder: Path, seed: int = 0, echo=print, quick: bool = False, task: str = "nexar",
             epochs: int | None = None, noise_model: str | None = None) -> dict:
    """`quick` shrinks data and training for tests; the numbers then only show that the loop runs. `task`: nexar
    or actions (see the module's docstring). `epochs`: each round's, instead of the world's BUDGET (for deciding
    that budget: bench/demo_seeds.py --epochs). `noise_model`: how the wrong labels are drawn, instead of the
    world's (NOISE; instance noise in the Nexar world comes with hard cases)."""
    if task not in TASKS:
        raise BadInput(f"unknown demo task {task!r}", f"use one of {', '.join(TASKS)}")
    if noise_model is not None:
        check_noise_model(noise_model)
    budget = {"epochs": 1, "draws_per_epoch": 48} if quick else BUDGET[task]
    if epochs is not None:
        budget = {**budget, "epochs": epochs}
    cfg = dict(table="latest", model="mvit_tiny", batch_size=8, workers=0, seed=seed, **budget)
    # both rounds' settings are checked here, before minutes of synth and ingest
    rounds = [TrainConfig(name="round1", **cfg), TrainConfig(name="round2", **cfg)]
    folder = Path(folder)
    timings = {}
    t = time.time()
    data = folder / "data"
    make_world(task, data, seed, quick, noise_model)
    timings["synth"] = time.time() - t

    t = time.time()
    ws = Workspace.open(folder, backend="lance")  # the demo folder is the workspace: `curate dashboard -w FOLDER`
    val = checked_val(data, VAL_FRACTION, seed)
    echo(f"val split: {len(val)} videos whose labels were checked (the generator's truth), as a careful team keeps "
         "one; the train split keeps the CSV's labels, flips and all")
    result = ingest(ws, labelled_view(data, val), task,
                    IngestOptions(seed=seed, frame_size=cache_size_for(MODELS["mvit_tiny"].input_size)),
                    progress=not quick)
    timings["ingest"] = time.time() - t

    t = time.time()
    round1 = train(ws, rounds[0], echo=echo, progress=not quick)
    timings["train round 1"] = time.time() - t

    t = time.time()
    found = suggest(ws, round1)
    for note in found.notes:
        echo(f"note: {note}")
    edits = folder / "edits.csv"
    edits.write_text(to_csv(found))
    head = ws.task().head(ws.tables, SAMPLES)
    edited = commit_edit(ws.tables, head, edit_from_file(ws.tables, head, edits),
                         f"apply {len(found)} suggestions of {round1}").revision
    timings["suggest + edit"] = time.time() - t

    t = time.time()
    round2 = train(ws, rounds[1], echo=echo, progress=not quick)
    timings["train round 2"] = time.time() - t

    t = time.time()
    truth = load_truth(data)
    tested = (nexar_test_scores(ws, folder, [round1, round2], truth, echo) if task == "nexar"
              else actions_test_scores(ws, [round1, round2]))
    timings["test"] = time.time() - t

    t = time.time()
    try:  # did the edit help? one seed per round: the seeds' variance is unmeasured, so no verdict either way
        # on the val clips of the revision round 2 trained on: round 1's pass over its own revision covers them
        # (the edits change train videos and clips only), so no run needs another pass
        compared = compare(ws, [round1, round2], on=ws.runs.record(round2).inputs.ref, samples=1000,
                           collect=lambda w, run, ref, checkpoint: collect(w, run, ref, checkpoint, progress=False))
    except CurateError as exc:
        compared, said = None, "inconclusive"
        compare_text = f"compare: {exc.problem}"
    else:
        d = compared["differences"][0]
        said = verdict(d)
        compare_text = (f"round 2 − round 1, {compared['metric']} on {compared['set']['clips']} val clips of "
                        f"{compared['set']['table']}: {d['difference']:+.3f}, 95% interval [{d['interval'][0]:+.3f}, "
                        f"{d['interval'][1]:+.3f}]" + (f", P(round 2 better) {d['p_b_better']:.2f} → {said}"
                                                        if d["p_b_better"] is not None else
                                                        " over val videos only → inconclusive: one seed per round "
                                                        "leaves the seeds' variance unmeasured"))
    timings["compare"] = time.time() - t

    best = {r: ws.runs.record(r).best_value for r in (round1, round2)}
    echo("")
    echo(f"videos: {result.status}; clips per split: {result.clips}")
    echo(f"{edited.ref}: {edited.counts}; {head.ref} still reads {ws.tables.read(head).num_rows} rows")
    scores = score_suggestions(found, truth, checked=val)
    echo(f"{'signal':<16} {'flagged':>7} {'injected':>8} {'found':>5} precision recall")
    for signal, (flagged, injected, hits) in scores.items():
        precision = f"{hits / flagged:9.2f}" if flagged else "        -"
        echo(f"{signal:<16} {flagged:>7} {injected:>8} {hits:>5} {precision} {hits / max(injected, 1):6.2f}")
    metric = ws.runs.record(round1).metric or "val"
    echo(f"{'round':<8} {'run':<22} {'table':<18} {'val ' + metric:>12}  {tested['metric']} ({tested['videos']} "
         "held-out videos, true labels)")
    for name, run in (("1", round1), ("2", round2)):
        value = f"{best[run]:.3f}" if isinstance(best[run], float) else "n/a"
        echo(f"{name:<8} {run:<22} {ws.runs.record(run).inputs.ref:<18} {value:>12}  {tested['values'][run]:.3f}")
    low, high = tested["interval"]
    echo(f"round 2 − round 1, {tested['metric']}: {tested['values'][round2] - tested['values'][round1]:+.3f}, 95% "
         f"interval over test videos [{low:+.3f}, {high:+.3f}] (one training seed per round: the seeds' spread is "
         "not in it; bench/demo_seeds.py runs five)")
    echo(compare_text)
    if tested["submissions"]:
        sub = tested["submissions"][round2]
        echo(f"submission: {sub} (+ {sub.stem}.provenance.json)")
    echo(f"{'stage':<14} seconds")
    for stage, secs in timings.items():
        echo(f"{stage:<14} {secs:7.1f}")
    echo(f"look at it in the browser: curate dashboard -w {ws.root}")
    return {"timings": timings, "ingest": result, "edit": edited, "runs": (round1, round2), "best": best,
            "suggestions": found, "scores": scores, "submission": tested["submissions"].get(round2),
            "compare": compared, "verdict": said, "learned": {r: learning_check(ws.runs.record(r)) for r in
                                                               (round1, round2)},
            "test": tested, "test_ap": tested["values"] if task == "nexar" else {}}
