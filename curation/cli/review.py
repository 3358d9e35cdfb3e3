"""Commands that review and hand over: `suggest`, `report`, `import-predictions`, `export`."""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import click

from curation.cli.app import cli, given_options, open_workspace
from curation.errors import BadInput


@cli.command()
@click.option("--run", "run_ref", default="last", show_default=True, help="Run whose metrics to read.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Write the edit file here (default: stdout).")
@click.option("--label-action", type=click.Choice(["weight", "delete", "label"]), default="weight",
              show_default=True,
              help="What to propose for label issues: a weight for the video (--label-value), its deletion, or "
                   "label: relabel the clips of it the model argued with (AUM below 0) to the class it preferred "
                   "(with more than two classes, the whole video to the class the probe prefers).")
@click.option("--label-value", default="0", show_default=True, help="The weight proposed for label issues.")
@click.option("--threshold", type=float,
              help="Flag a video when the mean AUM of its own-label clips is more than this many robust standard "
                   "deviations below the videos of its label (default 1.5; a multi-class run's videos, "
                   "judged with a second opinion from the start's features, by the two z-scores summed against "
                   "this × 7/6; lower: more recall, less precision).")
@click.option("--runs", "several", metavar="RUN,RUN,...",
              help="Label issues from several runs of one revision instead of one: its k-fold runs (train --folds K: "
                   "confident learning on out-of-fold probabilities, and AUM averaged) or its seed repeats (train "
                   "--repeat K: AUM averaged). Runs that did not learn are left out.")
@click.pass_context
def suggest(ctx, run_ref, out, label_action, label_value, threshold, several):
    """Propose edits from a run as an edit file: id,level,action,value,signal,reason,score. Nothing is applied:
    review it, then `curate edit clips --from FILE -m MSG`.

    \b
    Signals, and what each needs:
      unreadable      corrupt, missing or unsupported videos (the ingest status; no run needed)
      near-duplicate  pairs of videos much closer to each other than to any other (frames; the run's embeddings)
      leak            a near-duplicate across splits: the train copy is proposed for deletion
      label issue     videos the run keeps disagreeing with (AUM; a run that learned); with --runs, its k-fold
                      runs (confident learning too) or seed repeats
      timing          a labelled event time the run's score curve puts elsewhere (needs `curate predict-events`
                      on the run first; Nexar and events datasets)
      outlier         videos whose look is far from every other video's (frames; no run needed)"""
    from curation.fsutil import output_target, write_output
    from curation.review.suggest import suggest as propose
    from curation.review.suggestion import to_csv

    if out:
        output_target(out)  # refused before the work
    options = {"threshold": threshold} if threshold is not None else {}  # else label_issues' default
    runs = [r.strip() for r in several.split(",") if r.strip()] if several else None
    if runs and not given_options(ctx, "run_ref"):
        run_ref = runs[0]
    found = propose(open_workspace(ctx), run_ref, runs=runs,
                    action=label_action, value=label_value, **options)
    text = to_csv(found)
    if out:
        write_output(out, text.encode())
    else:
        click.echo(text, nl=False)
    for note in found.notes:
        click.echo(f"note: {note}", err=True)
    kinds = Counter(s.signal for s in found)
    click.echo(f"{len(found)} suggestion(s): " + (", ".join(f"{k} {v}" for k, v in kinds.items()) or "none")
               + (f" → {out}" if out else ""), err=True)


@cli.command()
@click.option("--run", "run_ref", help="The run to report on (default: the last one).")
@click.option("--table", "table_ref", help="Instead: a page of the samples of this revision (e.g. clips@latest).")
@click.option("-o", "--out", type=click.Path(dir_okay=False),
              help="Default: runs/<run>/report.html, or reports/<dataset>-<table>@<n>.html.")
@click.option("--worst", default=24, show_default=True, type=click.IntRange(1, 10_000, clamp=True),
              help="How many clips to show (per label with --table; at most 10,000).")
@click.pass_context
def report(ctx, run_ref, table_ref, out, worst):
    """A self-contained HTML page for a run: curves, embedding maps, and frame strips of the training clips
    with the lowest area under the margin (likely label errors). With --table: the samples a revision holds —
    counts per split and label, each video's timeline of events and clips, frame strips of every label."""
    if table_ref and run_ref:
        raise BadInput("--run and --table make different pages", "give one of them")
    if table_ref:
        from curation.review.samples_report import write_table_report

        click.echo(f"wrote {write_table_report(open_workspace(ctx), table_ref, out, worst)}")
        return
    from curation.review.report import write_report

    click.echo(f"wrote {write_report(open_workspace(ctx), run_ref or 'last', out, worst)}")


@cli.command("import-predictions")
@click.argument("name")
@click.argument("file", type=click.Path())
@click.option("--table", "table_ref", help="Samples revision they predict (default: the current dataset's, at head).")
@click.pass_context
def import_predictions(ctx, name, file, table_ref):
    """Store an external model's per-sample outputs as a run: FILE (CSV or JSON) has id, pred (a class, an
    answer letter or "B. …") and prob (of the prediction) and/or loss. Then `show --run`, `suggest --run` and
    the dashboard work on them."""
    from curation.review.imported import import_predictions as store_predictions

    ws = open_workspace(ctx)
    run = store_predictions(ws, name, file, table_ref)
    record = ws.runs.record(run)
    accuracy = record.best_value
    click.echo(f"{run}: {record.epochs[0]['predictions']} predictions over {record.inputs.ref}"
               + (f", accuracy {accuracy:.4f}" if accuracy is not None else ""))


@cli.command()
@click.argument("table_ref", metavar="TABLE@REV")
@click.option("-o", "--out", required=True, type=click.Path(),
              help="File to write (a new or empty folder for folders, hf and fiftyone).")
@click.option("--format", "fmt", type=click.Choice(["qa-json", "nexar-csv", "events-csv", "manifest-csv", "folders",
                                                    "kinetics-csv", "hf", "fiftyone", "activitynet-json"]),
              help="Default: the dataset's own layout. Every dataset also: hf (Hugging Face Parquet, a row per clip "
                   "with its labelled times), fiftyone (temporal detections; labelled times as detections too), "
                   "manifest-csv; class datasets (folders, manifest) also folders (class-folder tree); class and "
                   "Nexar datasets kinetics-csv; events datasets activitynet-json.")
@click.option("--copy", is_flag=True, help="Copy the videos into the folder instead of linking them.")
@click.option("--run", help="hf, fiftyone: add this run's per-clip metrics (loss, prob, margin, AUM) as columns.")
@click.pass_context
def export(ctx, table_ref, out, fmt, copy, run):
    """Write a curated revision of the samples table: deleted (and weight-0) samples gone, relabels applied. By
    default in the source layout (QA: a JSON like the input, plus OUT-test.json for unanswered questions); class
    datasets also in the formats other tools train from (docs/layouts.md, "Export")."""
    from curation.export import export as write_export

    result = write_export(open_workspace(ctx), table_ref, out, fmt, copy=copy, run=run)
    click.echo(f"wrote {result.samples} samples to {_shown_files(result.files)}"
               + (f" ({result.left_out} at weight 0 left out)" if result.left_out else ""))
    for note in result.notes:
        click.echo(f"note: {note}")


def _shown_files(files) -> str:
    """A few files by name; more as a count under the folder that holds them all (a class-folder tree's root)."""
    return ", ".join(map(str, files)) if len(files) <= 4 else \
        f"{len(files)} files under {os.path.commonpath([Path(f).parent for f in files])}"
