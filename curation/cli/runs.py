"""Commands over runs: `train`, `runs`, `collect`, `evaluate`, `compare`, `submit`."""
from __future__ import annotations

import os
import statistics

import click

from curation.cli.app import cli, given_options, open_workspace
from curation.errors import BadInput, CurateError
from curation.models import HEADS


@cli.command()
@click.option("--table", default="latest", show_default=True,
              help="Clips revision to train on: latest (clips@latest of the current dataset), clips@3, clips@TAG.")
@click.option("--resume", metavar="RUN", help="Continue a killed run from its last checkpoint (other options ignored).")
@click.option("--val-table", help="Validation revision (default: the val split of the training revision).")
@click.option("--model", type=click.Choice(["mvit_v2_s", "mvit_tiny"]), default="mvit_v2_s", show_default=True,
              help="mvit_v2_s (16×224×224, 34.5 M params) or mvit_tiny (16×64×64, for CPU and tests).")
@click.option("--weights", default="pretrained", show_default=True, metavar="pretrained|kinetics400|none|FILE",
              help="Backbone weights to start from: pretrained (Kinetics-400 for mvit_v2_s — if they cannot be "
                   "downloaded: a notice and random init; for mvit_tiny the packaged backbone pretrained on synthetic "
                   "videos, scripts/pretrain_tiny.py), kinetics400 (mvit_v2_s only; an error if they cannot be "
                   "loaded), none (random init), or a .pt file of backbone weights. "
                   "run.json records what was loaded and its sha256.")
@click.option("--head", type=click.Choice(HEADS), default="auto", show_default=True,
              help="The classifier on the backbone's features: mlp (the Nexar winner's, 768 → 256 → 64), linear (one "
                   "layer), auto (the MLP for a binary task, one linear layer for classes).")
@click.option("--epochs", default=10, show_default=True)
@click.option("--batch-size", default=16, show_default=True, help="Clips per step (per rank under torchrun).")
@click.option("--lr", type=float, help="AdamW learning rate, cosine schedule [default: the model's recipe: 1e-4 for "
                                       "mvit_v2_s, 5e-4 for mvit_tiny].")
@click.option("--warmup", default=0.0, show_default=True, type=click.FloatRange(0, 1, max_open=True),
              help="Share of the steps over which the learning rate rises linearly before the cosine decay.")
@click.option("--balance", is_flag=True, help="Draw each class with the same total probability (weights scaled "
                                             "per class).")
@click.option("--weight-decay", default=0.05, show_default=True)
@click.option("--draws", "draws_per_epoch", default=0, show_default=True,
              help="Weighted draws per epoch (0: the number of non-zero-weight clips; the winner used 6000).")
@click.option("--grad-clip", default=1.0, show_default=True, help="Max gradient norm (0: off).")
@click.option("--workers", default=2, show_default=True, help="DataLoader worker processes.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--decode-on-device", is_flag=True,
              help="Workers only read the clips' JPEG bytes; the frames are decoded (nvJPEG on a GPU) and augmented "
                   "on --device, so a GPU needs fewer CPU cores (bench/gpu.py measures it).")
@click.option("--collect-every", default=0, show_default=True,
              help="Also run the collection pass every K epochs (it always runs at the end).")
@click.option("--fold", type=int, help="Validate on this fold of the fold column, train on the others.")
@click.option("--folds", type=int, help="Train K runs, one per fold (k-fold ensemble, out-of-fold predictions).")
@click.option("--seed", default=0, show_default=True)
@click.option("--repeat", type=click.IntRange(1, 100), default=1, show_default=True,
              help="Train K runs of this revision and config with seeds SEED..SEED+K-1, as one group "
                   "(`curate runs` shows its mean ± sd; `curate compare` pools it).")
@click.option("--seeds", help="Instead of --repeat: the seeds, e.g. 0,1,2.")
@click.option("--max-skip-fraction", default=0.05, show_default=True, type=click.FloatRange(0, 1),
              help="Stop when more than this fraction of an epoch's draws cannot be read (unreadable clips are "
                   "skipped and listed in run.json).")
@click.option("--name", help="A suffix for the run id (run-0007-NAME).")
@click.option("--smoke", is_flag=True,
              help="Check the pipeline in seconds instead: 2 training batches, validation and the collection pass on "
                   "8 clips, a checkpoint saved and reloaded, on the real table with these options. Keeps nothing.")
@click.pass_context
def train(ctx, resume, smoke, **kwargs):
    """Train on a clips revision; log per-sample metrics, checkpoints and plots under runs/.

    Runs as it is under `torchrun --nproc_per_node N` too (DDP; gloo on CPU, nccl on GPU).
    """
    from curation.train.config import TrainConfig, resolve_train_table

    folds, repeat, seeds = kwargs.pop("folds"), kwargs.pop("repeat"), kwargs.pop("seeds")
    if seeds is not None and given_options(ctx, "repeat", "seed"):
        raise BadInput("--seeds names every seed itself", "give --seeds alone, or --seed S --repeat N without it")
    if resume and (ignored := given_options(ctx, *[n for n in kwargs if n not in ("device", "workers")])):
        raise BadInput(f"--resume continues a run with its own settings; {', '.join(ignored)} would be ignored",
                       "drop them to resume, or start a new run without --resume")
    if folds and (resume or kwargs["fold"] is not None):
        raise BadInput("--folds trains every fold itself", "drop --fold / --resume, or train one fold with --fold")
    seed_list = _seed_list(seeds) if seeds else list(range(kwargs["seed"], kwargs["seed"] + repeat))
    if len(seed_list) > 1 and (resume or folds or smoke):
        raise BadInput("seed repeats train new runs of one config", "drop --resume / --folds / --smoke")
    if smoke and (resume or folds):
        raise BadInput("--smoke checks a new run's pipeline", "drop --resume / --folds")
    if not resume:  # check the options and tables before the (slow) import of the trainer
        resolve_train_table(open_workspace(ctx), TrainConfig(**kwargs).table)
    if smoke:
        from curation.train.smoke import smoke_test

        report = smoke_test(open_workspace(ctx), TrainConfig(**kwargs), echo=click.echo)
        for stage, seconds, what in report.stages:
            click.echo(f"{stage:<11} {seconds:6.1f} s  {what}")
        click.echo(f"smoke test passed on {report.table} in {report.seconds:.1f} s; nothing was written")
        return
    from curation.train.loop import train as run_training
    from curation.train.loop import train_folds, train_repeats

    if folds:
        runs = train_folds(open_workspace(ctx), TrainConfig(**kwargs), folds, echo=click.echo)
    elif len(seed_list) > 1:
        runs = train_repeats(open_workspace(ctx), TrainConfig(**kwargs), seed_list, echo=click.echo)
    else:
        runs = [run_training(open_workspace(ctx), None if resume else TrainConfig(**kwargs), resume=resume, echo=click.echo)]
    for run in runs:
        if run and os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 speaks for the run
            record = open_workspace(ctx).runs.record(run)
            click.echo(f"{run}: {record.status}; best {_best_text(record)}; {open_workspace(ctx).runs.uri(run)}")


def _seed_list(text: str) -> list[int]:
    try:
        seeds = [int(t) for t in text.replace(",", " ").split()]
    except ValueError:
        seeds = []
    if not seeds or len(set(seeds)) != len(seeds):
        raise BadInput(f"--seeds {text!r} is not a list of distinct whole numbers", "give e.g. --seeds 0,1,2")
    return seeds


def _best_text(record) -> str:
    best = record.best or {}
    value = best.get("value")
    return f"{best.get('metric')} {value:.4f} @ epoch {best.get('epoch')}" if isinstance(value, float) else "-"


@cli.command()
@click.pass_context
def runs(ctx):
    """List runs: table revision, status, epochs and best validation metric."""
    store = open_workspace(ctx).runs
    ids = store.runs()
    if not ids:
        click.echo("no runs yet — `curate train --table latest`")
        return
    click.echo(f"{'run':<22} {'status':<10} {'trained on':<20} {'model':<10} {'epochs':>6}  best")
    groups: dict[tuple, list[float]] = {}
    killed = []
    for run in ids:
        try:
            record = store.record(run)
        except CurateError as exc:  # one unreadable run does not hide the others
            click.echo(f"{run:<22} {'?':<10} {exc.problem}")
            continue
        if record.status == "killed":
            killed.append(run)
        click.echo(f"{run:<22} {record.status:<10} {record.inputs.ref:<20} "
                   f"{record.config.get('model', '?'):<10} {len(record.epochs):>6}  {_best_text(record)}")
        if record.group and record.best_value is not None:
            groups.setdefault((record.group, record.best["metric"]), []).append(record.best_value)
    for (group, metric), values in groups.items():
        if len(values) > 1:
            click.echo(f"group {group}: {len(values)} seeds, best {metric} {statistics.mean(values):.4f} "
                       f"± {statistics.stdev(values):.4f} (mean ± sd)")
    for run in killed:
        click.echo(f"{run} stopped without finishing (its process is gone); continue it with "
                   f"`curate train --resume {run}`")


@cli.command()
@click.option("--run", "run_ref", default="last", show_default=True, help="Run id, its number, or last.")
@click.option("--table", "table_ref", required=True, help="Table revision to run over, e.g. test@latest.")
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="best", show_default=True)
@click.pass_context
def collect(ctx, run_ref, table_ref, checkpoint):
    """Eval-mode pass of a run's checkpoint over a table: prob, loss, embedding, 2-D map per clip."""
    from curation.train.collect import collect as run_collect

    ws = open_workspace(ctx)
    name = run_collect(ws, run_ref, table_ref, checkpoint)
    run = ws.runs.resolve(run_ref)
    click.echo(f"{run}: wrote collection {name} ({ws.runs.uri(run, f'collect/{name}.parquet')})")


@cli.command()
@click.option("--run", "run_ref", default="last", show_default=True, help="Run id, its number, or last.")
@click.option("--table", "table_ref", help="Table revision (default: the revision the run trained on).")
@click.option("--split", default="test", show_default=True, help="Which split of the table to score.")
@click.option("--batch-size", type=int, help="Clips per forward pass for the timing (default: the run's).")
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="best", show_default=True)
@click.option("--events/--no-events", default=True, show_default=True,
              help="Events and Nexar datasets: also predict event times on whole videos and print their F1 and "
                   "time error (as `curate predict-events`).")
@click.pass_context
def evaluate(ctx, run_ref, table_ref, split, batch_size, checkpoint, events):
    """Score a run on a split of a table: accuracy, macro-F1, per-class accuracy and confusion (the competition's
    mAP for Nexar), and inference ms per clip at a batch size; for datasets labelled with event times also the
    event times found on whole videos. Recorded in the run (run.json `evaluations`)."""
    from curation.train.evaluate import evaluate as run_evaluation

    ws = open_workspace(ctx)
    result = run_evaluation(ws, run_ref, table_ref, split, batch_size, checkpoint)
    _echo_clip_metrics(ws, run_ref, result, split, checkpoint)
    if events and ws.task(ws.resolve(result["table"]).dataset).times_are_labels:
        from curation.events.predict import predict_events

        _echo_event_metrics(predict_events(ws, run_ref, None if table_ref is None else result["table"],
                                           checkpoint=checkpoint))


@cli.command()
@click.option("--trials", default=8, show_default=True, help="Finished trials the study should have.")
@click.option("--study", default="sweep", show_default=True,
              help="The study's name: sweeps/NAME in the workspace; run again to continue or extend it.")
@click.option("--table", default="latest", show_default=True, help="Clips revision every trial trains on.")
@click.option("--model", type=click.Choice(["mvit_v2_s", "mvit_tiny"]), default="mvit_v2_s", show_default=True)
@click.option("--weights", default="pretrained", show_default=True, metavar="pretrained|kinetics400|none|FILE")
@click.option("--epochs", default=10, show_default=True)
@click.option("--batch-size", default=16, show_default=True)
@click.option("--draws", "draws_per_epoch", default=0, show_default=True, help="Clips drawn per epoch (0: all).")
@click.option("--lr", type=float, help="The centre of the learning-rate range (×/÷ 10) [default: the recipe's].")
@click.option("--workers", default=2, show_default=True, help="DataLoader worker processes.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--seed", default=0, show_default=True, help="Seed of every trial's run and of the sampler.")
@click.option("--search", "search", multiple=True, type=click.Choice(["training", "ingest"]), default=["training"],
              show_default=True, help="Which settings to search; repeat for both.")
@click.pass_context
def sweep(ctx, trials, study, search, **kw):
    """Search settings with Optuna (TPE). Training (the default): learning rate (a decade either side of the
    recipe's), warmup (0–0.2), weight decay (0.001–0.2), class balance. Ingest (--search ingest, Nexar and events
    datasets): clip length (half to twice the dataset's; the frame stride follows, the model's frame count being
    fixed) and the label windows — Nexar's label rule (alert, or a horizon of 0.5–3 s before the event), the
    events layout's alpha and beta (0.05–0.5); each such trial ingests the source again as its own dataset
    (DATASET-STUDY-DIGEST, its own frame cache) with your retimes. Each trial is a normal run; the best has the
    best val metric (events datasets with ingest settings: event F1 at ±0.5 s on the val videos, which the
    windows do not change). The study is kept in the workspace, so a killed sweep continues (its cut-off trial is
    retried) and a larger --trials extends it. Plot: sweeps/STUDY/trials.png."""
    from curation.sweep import describe
    from curation.sweep import sweep as run_sweep
    from curation.train.config import TrainConfig

    result = run_sweep(open_workspace(ctx), TrainConfig(**kw), trials, study, echo=click.echo, search=tuple(search))
    if result.best:
        click.echo(f"best of {sum(t['value'] is not None for t in result.trials)} trials: trial {result.best['trial']} "
                   f"({result.best['run']}) val {result.metric} {result.best['value']:.4f} — "
                   f"{describe(result.best['params'])}")
    click.echo(f"plot: {result.plot}")


@cli.command("predict-events")
@click.option("--run", "run_ref", default="last", show_default=True, help="Run id, its number, or last.")
@click.option("--table", "table_ref", help="Table revision whose videos to scan (default: the one it trained on).")
@click.option("--step", default=0, show_default=True, help="A window ends every STEP frames (0: one clip stride).")
@click.option("--min-gap", default=1.0, show_default=True, help="Seconds between two predicted events, at least.")
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="best", show_default=True)
@click.option("--split", "splits", multiple=True, help="Scan only this split's videos (repeat for several; "
              "default: all). The threshold is chosen on val, so keep val among them.")
@click.pass_context
def predict_events_command(ctx, run_ref, table_ref, step, min_gap, checkpoint, splits):
    """Slide a run's model over every window of each video (events and Nexar datasets), keep the score curve per
    video with the run, and turn the curves into event times: peaks above a threshold, at least --min-gap apart;
    for Nexar, where a model's curve rises at the alert and stays high past the event, the rises above the
    threshold moved by the val videos' median rise-to-event time. The threshold is the best F1 at ±0.5 s on the
    val videos. Prints precision, recall and F1 within ±0.25/0.5/1 s and the mean absolute time error per split
    (Nexar: also the rise against the alert time)."""
    from curation.events.predict import predict_events

    _echo_event_metrics(predict_events(open_workspace(ctx), run_ref, table_ref, step, min_gap, checkpoint,
                                       splits=tuple(splits)))


def _echo_event_metrics(result: dict) -> None:
    skipped = f"; {len(result['skipped'])} unreadable video(s) skipped" if result["skipped"] else ""
    click.echo(f"event times on {result['videos']} whole videos of {result['table']}: {result['picked']}{skipped}")
    for split, m in result["metrics"].items():
        f1 = "  ".join(f"F1@{t} {_number(m[f'event_f1@{t}'], 3)}" for t in ("0.25s", "0.5s", "1s"))
        extra = f"  alert MAE {_number(m['alert_mae_s'], 3)} s" if "alert_mae_s" in m else ""
        click.echo(f"  {split}: {f1}  P@0.5s {_number(m['event_precision@0.5s'], 3)}  R@0.5s "
                   f"{_number(m['event_recall@0.5s'], 3)}  MAE {_number(m['event_mae_s'], 3)} s{extra}"
                   + ("  (threshold chosen here)" if split == "val" else ""))
    click.echo(f"timelines: {result['report']}")


def _echo_clip_metrics(ws, run_ref, result: dict, split: str, checkpoint: str) -> None:
    m = result["metrics"]
    click.echo(f"{ws.runs.resolve(run_ref)} on {result['table']} ({split} split, {result['clips']} clips, "
               f"{checkpoint} checkpoint)")
    if m is None:
        click.echo(f"no metrics: {result['no_metrics']}")
    elif "confusion" in m:
        classes = list(m["per_class_accuracy"])
        click.echo(f"accuracy {_number(m['accuracy'])}  macro-F1 {_number(m['macro_f1'])}")
        click.echo("per class: " + ", ".join(f"{c} {_number(v, 3)}" for c, v in m["per_class_accuracy"].items()))
        width = max(6, *(len(c) for c in classes))
        click.echo("confusion (rows: truth, columns: prediction)")
        click.echo(" " * width + "".join(f" {c:>{width}}" for c in classes))
        for c, row in zip(classes, m["confusion"]):
            click.echo(f"{c:>{width}}" + "".join(f" {n:>{width}}" for n in row))
    else:
        click.echo("  ".join(f"{k} {_number(v)}" for k, v in m.items() if isinstance(v, float) or v is None))
    click.echo(f"inference {result['ms_per_clip']:.1f} ms/clip at batch {result['batch_size']} on {result['device']}"
               + (f"; {len(result['skipped'])} unreadable clip(s) skipped" if result["skipped"] else ""))


def _number(value, digits: int = 4) -> str:
    """A metric for the terminal; n/a where there is none (null in run.json: no clips of that kind)."""
    return "n/a" if value is None else f"{value:.{digits}f}"


@cli.command()
@click.argument("runs", nargs=-1, required=True)
@click.option("--on", "on", metavar="TABLE@REV",
              help="Score on this revision's clips (default: the val clips of the earliest revision the runs "
                   "trained on, so that later edits of val clips do not move the goalposts).")
@click.option("--split", default="val", show_default=True, help="Which split of that revision to score.")
@click.option("--metric", help="mAP, ap_tau_0.5/1.0/1.5 (event tasks); accuracy, macro_f1 (classes). "
                               "Default: the metric the runs validated with.")
@click.option("--samples", default=2000, show_default=True, type=click.IntRange(100, 100_000),
              help="Bootstrap draws.")
@click.option("--plot", type=click.Path(dir_okay=False), help="Write a PNG of each run's metric with its interval.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def compare(ctx, runs, on, split, metric, samples, plot, as_json):
    """Did the edit help? Score RUNS (two or more; seed repeats of one revision and config are pooled) on ONE
    fixed set of clips and print each difference to the first with a 95% interval from a paired bootstrap over
    videos, and — when both sides have seed repeats (train --repeat) — the probability that it is better; with
    one run on a side the verdict is inconclusive, since how far another seed moves a run is unmeasured. Runs
    without predictions for the set get one inference pass, kept in the run."""
    import json

    from curation.fsutil import output_target
    from curation.review.compare import compare as run_compare
    from curation.review.compare import plot_compare, verdict
    from curation.train.collect import collect

    if plot:
        output_target(plot)  # refused before the work
    ws = open_workspace(ctx)
    result = run_compare(ws, list(runs), on, metric, split, samples, collect=collect)
    if plot:
        plot_compare(result, plot)
    if as_json:
        click.echo(json.dumps(result, indent=1))
        return
    s = result["set"]
    click.echo(f"scored on {s['clips']} clips of {s['videos']} videos: {s['why']}; {s['model']}")
    click.echo(f"{result['metric']} with {result['level']:.0%} intervals ({result['samples']} paired bootstrap draws "
               "over videos, seeds resampled within a group):")
    for g in result["groups"]:
        seeds = f"; {len(g['runs'])} seeds, sd {g['seed_sd']:.4f}" if g["seed_sd"] is not None else ""
        click.echo(f"  {g['name']:<24} {g['value']:.4f}  [{g['interval'][0]:.4f}, {g['interval'][1]:.4f}]  "
                   f"trained on {g['trained_on']}{seeds}")
    for d in result["differences"]:
        low, high = d["interval"]
        if d["p_b_better"] is None:  # one run on a side: no verdict as if the seeds' variance were known
            click.echo(f"{d['b']} − {d['a']}: {d['difference']:+.4f}  [{low:+.4f}, {high:+.4f}] over videos only  "
                       f"→ inconclusive: seed variance {d['seed_variance']} (--repeat)")
        else:
            click.echo(f"{d['b']} − {d['a']}: {d['difference']:+.4f}  [{low:+.4f}, {high:+.4f}]  "
                       f"P(better) {d['p_b_better']:.2f}  → {verdict(d)}")
        if d["revision_diff"]:
            click.echo("  training revisions differ by: " + ", ".join(f"{k} {v}" for k, v in d["revision_diff"].items()))
        for what, moved in (("improved", [m for m in d["improved"] if m[1] > 0]),
                            ("worsened", [m for m in d["worsened"] if m[1] < 0])):
            if moved:
                click.echo(f"  {what} most (video: change of the truth's probability): "
                           + ", ".join(f"{v} {x:+.2f}" for v, x in moved))
    if result["events"]:
        _echo_event_comparison(result["events"], result["level"])
    for note in result["notes"]:
        click.echo(f"note: {note.replace('predict them', 'predict them (`curate predict-events --run R`)')}")
    if plot:
        click.echo(f"wrote {plot}")


def _echo_event_comparison(events: dict, level: float) -> None:
    click.echo(f"event times on {events['videos']} videos ({events['from']}), F1 with {level:.0%} intervals:")
    for key, m in events["metrics"].items():
        groups = "; ".join(f"{g['name']} {g['value']:.3f} [{g['interval'][0]:.3f}, {g['interval'][1]:.3f}]"
                           for g in m["groups"])
        diffs = "; ".join(f"{d['b']} − {d['a']} {d['difference']:+.3f} [{d['interval'][0]:+.3f}, "
                          f"{d['interval'][1]:+.3f}]" + (f" P(better) {d['p_b_better']:.2f}"
                                                          if d["p_b_better"] is not None else " (one run a side)")
                          for d in m["differences"])
        click.echo(f"  {key}: {groups}  →  {diffs}")


@cli.command()
@click.option("--run", "runs", multiple=True, default=["last"], show_default=True,
              help="Run to score with; repeat to average several (a k-fold ensemble).")
@click.option("--table", help="Test clips revision (default: the current dataset's test table at head, test@latest).")
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="best", show_default=True)
@click.option("--tta", type=click.Choice(["none", "flip"]), default="none", show_default=True,
              help="flip: average each clip with its horizontal mirror.")
@click.option("-o", "--out", default="submission.csv", show_default=True, type=click.Path(dir_okay=False))
@click.pass_context
def submit(ctx, runs, table, checkpoint, tta, out):
    """Write a competition submission (id,target) from the final window of each test video, plus
    OUT's .provenance.json (runs, checkpoint sha256s, table revisions, command). Unscorable videos get
    the median score and a warning, never a missing row."""
    from curation.submit import provenance_path
    from curation.submit import submit as write_submission

    prov = write_submission(open_workspace(ctx), list(runs), table, out, checkpoint, tta, echo=click.echo)
    click.echo(f"wrote {out} ({prov['rows']} videos, runs {', '.join(r['run'] for r in prov['runs'])}) "
               f"and {provenance_path(out)}")
