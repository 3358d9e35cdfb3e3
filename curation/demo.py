"""`curate demo`: the loop on a synthetic dataset, offline, on CPU, in a few minutes.

synth (with flipped labels, duplicates and corrupt files) → ingest → train the tiny MViT (round 1, with
per-sample dynamics and a collection pass) → suggest → apply the suggestions as a new revision → retrain on
`latest` (round 2) → submit, then score what was flagged against what the generator injected, and each
round's submission against the generator's test labels.
"""
from __future__ import annotations

import time
from pathlib import Path

from curation.csvio import read_rows
from curation.errors import CurateError
from curation.frames.cache import cache_size_for
from curation.ingest.pipeline import IngestOptions, ingest
from curation.models.mvit import MODELS
from curation.synth import generate, load_truth
from curation.synth_views import checked_val, labelled_view
from curation.review.compare import compare, verdict
from curation.review.suggest import suggest, to_csv
from curation.runs.learning import learning_check
from curation.submit import submit
from curation.tables.commit import commit_edit
from curation.tables.requests import edit_from_file
from curation.task import SAMPLES
from curation.train.config import TrainConfig
from curation.train.collect import collect
from curation.train.loop import train
from curation.workspace import Workspace


VIDEOS = 60  # train.csv videos (a quarter of them the checked val split)
VAL_FRACTION = 0.25
EPOCHS, DRAWS = 3, 500  # per round, from the tiny model's pretrained weights (the default for mvit_tiny)


def score_suggestions(found, truth: dict, checked: set[str] = frozenset()) -> dict[str, tuple[int, int, int]]:
    """(flagged, injected, found) per signal, against the generator's ground truth. A duplicate pair counts
    as found when either copy is flagged; a flip of a `checked` video (ingested under its true label) is not
    in the data, so not there to find."""
    flipped = set(truth["flipped"]) - set(checked)
    kinds = {"label issue": [], "near-duplicate": [], "unreadable": [], "outlier": []}
    for s in found:  # a leak is a near-duplicate across splits
        kinds.setdefault("near-duplicate" if s.signal == "leak" else s.signal, []).append(s.id)
    pairs = truth["duplicates"]
    return {
        "label issue": (len(kinds["label issue"]), len(flipped), len(set(kinds["label issue"]) & flipped)),
        "near-duplicate": (len(kinds["near-duplicate"]), len(pairs),
                           sum(bool(set(kinds["near-duplicate"]) & set(p)) for p in pairs)),
        "unreadable": (len(kinds["unreadable"]), len(truth["corrupt"]),
                       len(set(kinds["unreadable"]) & set(truth["corrupt"]))),
        "outlier": (len(kinds["outlier"]), 0, 0),  # the generator injects none: every flag is a false alarm
    }


def submission_ap(submission: Path, truth: dict) -> float:
    """Average precision of a submission against the generator's test labels."""
    from curation.train.metrics import average_precision

    rows = read_rows(submission, ["id", "target"], "submission")
    positive = [truth["videos"][r["id"]]["target"] == 1 for r in rows]
    return average_precision(positive, [float(r["target"]) for r in rows])


def run_demo(folder: Path, seed: int = 0, echo=print, quick: bool = False) -> dict:
    """`quick` shrinks data and training for tests; the numbers then only show that the loop runs."""
    folder = Path(folder)
    timings = {}
    t = time.time()
    data = folder / "data"
    generate(data, n_train=12 if quick else VIDEOS, n_test=4 if quick else 20, width=160, height=96,
             duration_s=4.0 if quick else 6.0, test_duration_s=3.0 if quick else 5.0, label_noise=0.2, n_duplicates=2,
             n_corrupt=3, seed=seed, progress=not quick)
    timings["synth"] = time.time() - t

    t = time.time()
    ws = Workspace.open(folder, backend="lance")  # the demo folder is the workspace: `curate dashboard -w FOLDER`
    val = checked_val(data, VAL_FRACTION, seed)
    echo(f"val split: {len(val)} videos whose labels were checked (the generator's truth), as a careful team keeps "
         "one; the train split keeps the CSV's labels, flips and all")
    result = ingest(ws, labelled_view(data, val), "nexar",
                    IngestOptions(seed=seed, frame_size=cache_size_for(MODELS["mvit_tiny"].input_size)),
                    progress=not quick)
    timings["ingest"] = time.time() - t

    cfg = dict(model="mvit_tiny", epochs=1 if quick else EPOCHS, draws_per_epoch=48 if quick else DRAWS,
               batch_size=8, workers=0, seed=seed)
    t = time.time()
    round1 = train(ws, TrainConfig(table="latest", name="round1", **cfg), echo=echo, progress=not quick)
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
    round2 = train(ws, TrainConfig(table="latest", name="round2", **cfg), echo=echo, progress=not quick)
    timings["train round 2"] = time.time() - t

    t = time.time()
    truth = load_truth(data)
    submissions = {}
    for name, run in (("round1", round1), ("round2", round2)):
        out = folder / ("submission.csv" if name == "round2" else f"submission-{name}.csv")
        submit(ws, [run], out=out, echo=echo if name == "round2" else (lambda *_: None), progress=False)
        submissions[run] = (out, submission_ap(out, truth))
    timings["submit"] = time.time() - t

    t = time.time()
    try:  # did the edit help? one seed per round: the seeds' variance is unmeasured, so no verdict either way
        compared = compare(ws, [round1, round2], samples=1000,
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
    echo(f"{'round':<8} {'run':<22} {'table':<16} val mAP  test AP (generator's labels)")
    for name, run in (("1", round1), ("2", round2)):
        value = f"{best[run]:.3f}" if isinstance(best[run], float) else "n/a"
        echo(f"{name:<8} {run:<22} {ws.runs.record(run).inputs.ref:<16} {value:>7}  {submissions[run][1]:.3f}")
    echo(compare_text)
    echo(f"submission: {submissions[round2][0]} (+ {submissions[round2][0].stem}.provenance.json)")
    echo(f"{'stage':<14} seconds")
    for stage, secs in timings.items():
        echo(f"{stage:<14} {secs:7.1f}")
    echo(f"look at it in the browser: curate dashboard -w {ws.root}")
    return {"timings": timings, "ingest": result, "edit": edited, "runs": (round1, round2), "best": best,
            "suggestions": found, "scores": scores, "submission": submissions[round2][0], "compare": compared,
            "verdict": said, "learned": {r: learning_check(ws.runs.record(r)) for r in (round1, round2)},
            "test_ap": {r: ap for r, (_, ap) in submissions.items()}}
