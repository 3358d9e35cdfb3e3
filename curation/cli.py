"""The `curate` command line: each command parses its options, calls the library and prints."""
from __future__ import annotations

import errno
import os
import statistics
import sys
from collections import Counter
from pathlib import Path

import click

from curation.errors import BadInput, CurateError


_WRITE_ERRORS = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT)
_PATH_ERRORS = (errno.ENAMETOOLONG, errno.ENOTDIR, errno.ELOOP)  # a path the system cannot even look up
_ALLOCATION_FAILURES = ("can't allocate memory", "CUDA out of memory")  # torch's words for a failed allocation


# How the command line takes the library's remedies (errors.Fix.action); other front ends show Fix.text.
CLI_FIXES = {
    "list_tables": "run `curate tables` to list them",
    "list_revisions": "run `curate log {table}` to list revisions and tags",
    "list_runs": "run `curate runs` to list them",
    "check_ids": "check the ids against `curate show {table}`; nothing was written",
    "force_tag": "pass --force to move it",
    "rebase": "review the head's changes, then re-run the edit against it, or pass --rebase",
    "use_lance": "{first}, or use the embedded store: --backend lance (or unset CURATE_BACKEND)",
    "option": "use --{option} {value}",
    "ids": "pass ids separated by commas, or @FILE",
    "ingest": "ingest one with `curate ingest`",
    "no_test_split": "drop the test share of --split (use --val-fraction)",
    "evaluate_split": "re-ingest with --split 0.7,0.15,0.15, or evaluate another split: --split val",
    "train_first": "train one with `curate train --table latest`",
    "new_run": "start a new run with `curate train`",
    "train_folds": "train them with `curate train --folds K`",
    "reingest_folds": "re-ingest with --folds {folds}",
    "folds": "use --folds 5, or --val-fraction for one split",
    "clip_frames": "re-ingest with --clip-frames {frames}",
    "one_worker": "ingest with --workers 1, or free memory",
    "collect": "run `curate collect --run {run}` over that table first",
    "name_runs": "pass --run RUN (repeat it to average several runs)",
}


def cli_message(err: CurateError) -> str:
    """The error's line with its fix as the command line takes it."""
    template = CLI_FIXES.get(err.fix.action) if err.fix else None
    return err.message(template.format(**err.fix.params) if template else None)


class Group(click.Group):
    """Turns a CurateError, or a file the user may not read or write, into one line on stderr and exit code 2
    (no traceback)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CurateError as err:
            click.echo(f"error: {cli_message(err)}", err=True)
            sys.exit(err.exit_code)
        except (MemoryError, RuntimeError) as err:
            if not isinstance(err, MemoryError) and not any(s in str(err) for s in _ALLOCATION_FAILURES):
                raise
            click.echo("error: out of memory — use a smaller --batch-size or fewer --workers (or the tiny model, "
                       "--model mvit_tiny)", err=True)
            sys.exit(2)
        except OSError as err:
            if err.errno in _PATH_ERRORS:
                name = str(err.filename or "a path")
                click.echo(f"error: cannot use {name[:80]}{'…' if len(name) > 80 else ''}: {err.strerror} — check "
                           "the path", err=True)
                sys.exit(2)
            if err.errno not in _WRITE_ERRORS:
                raise
            click.echo(f"error: cannot use {err.filename or 'a workspace file'}: {err.strerror} — check that you "
                       "may read and write the workspace (or pick another with --workspace)", err=True)
            sys.exit(2)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--workspace", "-w", type=click.Path(file_okay=False), envvar="CURATE_WORKSPACE",
              help="Workspace folder holding tables/, runs/ and cache/ (default: current folder, or "
                   "$CURATE_WORKSPACE).")
@click.option("--backend", type=click.Choice(["lance", "3lc"]), envvar="CURATE_BACKEND",
              help="Table store: lance (embedded, offline; default) or 3lc (needs a 3LC key). "
                   "Also $CURATE_BACKEND or curate.json.")
@click.pass_context
def cli(ctx, workspace, backend):
    """curate — data-centric curation of video datasets.

    \b
    The loop (or all of it at once on synthetic data: curate demo):
      curate synth data/synth                 # or your own Nexar-layout dataset
      curate ingest nexar data/synth          # videos / frames / clips / test tables, revision 1
      curate train --table latest             # a run: per-clip losses, predictions, embeddings
      curate show clips --run last --sort loss --desc  # look (or: curate report --run last)
      curate suggest --run last -o edits.csv  # proposed edits, never applied
      curate edit clips --from edits.csv -m "review"   # → clips@2; every revision is kept
      curate train --table latest             # round 2
      curate submit --run last -o submission.csv       # + submission.provenance.json
    """
    ctx.ensure_object(dict)
    ctx.obj["workspace_arg"] = (workspace, backend)


WHERE = "@where"  # the value of a bare --delete: delete what --where selects


def rows_text(n: int) -> str:
    return f"{n} row{'s' if n != 1 else ''}"


def _given(ctx, *names: str) -> list[str]:
    """The options among `names` the user set (on the command line or by environment), as flags."""
    from click.core import ParameterSource

    given = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    flags = {p.name: p.opts[0] for p in ctx.command.params}
    return [flags[n] for n in names if ctx.get_parameter_source(n) in given]


def _ws(ctx):
    from curation.workspace import Workspace

    if "workspace" not in ctx.obj:
        ctx.obj["workspace"] = Workspace.open(*ctx.obj["workspace_arg"])
    return ctx.obj["workspace"]


# -- synth --------------------------------------------------------------------------------------------
@cli.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--train", "n_train", default=100, show_default=True, help="Number of train videos.")
@click.option("--test", "n_test", default=30, show_default=True, help="Number of test videos.")
@click.option("--width", default=320, show_default=True)
@click.option("--height", default=180, show_default=True)
@click.option("--duration", "duration_s", default=8.0, show_default=True, help="Train video length (s).")
@click.option("--test-duration", "test_duration_s", default=6.0, show_default=True,
              help="Test video length (s); test positives end 0.5/1.0/1.5 s before the event.")
@click.option("--label-noise", default=0.0, show_default=True, help="Fraction of train labels flipped.")
@click.option("--duplicates", "n_duplicates", default=0, show_default=True,
              help="Near-duplicate videos (about half of them leak into test).")
@click.option("--corrupt", "n_corrupt", default=0, show_default=True,
              help="Broken train files: truncated, empty, text named .mp4.")
@click.option("--seed", default=0, show_default=True)
def synth(out, **kwargs):
    """Write a synthetic dashcam dataset in the Nexar layout to OUT.

    Positives show a vehicle that approaches and collides; negatives show traffic that does not.
    What is hidden from the CSVs (flipped labels, duplicates, corrupt files, test labels) goes to
    OUT/ground_truth.json, which ingest never reads.
    """
    from curation.synth import generate

    summary = generate(out, **kwargs)
    click.echo(f"wrote {summary['n_train']} train + {summary['n_test']} test videos to {out} "
               f"in {summary['seconds']:.1f} s")


# -- ingest -------------------------------------------------------------------------------------------
def _ingest_options(f):
    options = [
        click.option("--name", help="Dataset name (default: nexar, or the folder / CSV name)."),
        click.option("--val-fraction", default=0.2, show_default=True,
                     help="Fraction of labelled videos held out for validation (grouped by video, stratified)."),
        click.option("--split", "split_shares", metavar="TRAIN,VAL,TEST",
                     help="Shares of the labelled videos, e.g. 0.7,0.15,0.15 (grouped and stratified; class layouts): "
                          "the test share is held out for `curate evaluate`. Overrides --val-fraction."),
        click.option("--folds", default=0, show_default=True,
                     help="Write a fold column with K folds instead (fold 0 is the default val split)."),
        click.option("--clip-frames", default=16, show_default=True, help="Frames per clip."),
        click.option("--clip-seconds", default=2.0, show_default=True,
                     help="Seconds a clip spans; the stride follows each video's own fps."),
        click.option("--stride", default=0, show_default=True, help="Fixed frame stride (0: from --clip-seconds)."),
        click.option("--anchor-every", default=0, show_default=True,
                     help="A clip ends every N frames (0: twice the stride, so clips share cached frames)."),
        click.option("--frame-size", default=256, show_default=True,
                     help="Cached frames are squashed to S×S. Training at a smaller size? A cache about 8/7 of it "
                     "(128 for 112-px clips) reads several times faster and takes less disk."),
        click.option("--seed", default=0, show_default=True, help="Seed of the validation split / folds."),
        click.option("--discard-edits", is_flag=True,
                     help="On re-ingest, register the source as it is instead of carrying your edits (deletes, "
                          "weights, relabels made since the last ingest) forward by id."),
        click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="Processes that probe, decode and encode videos [default: one per core]. The tables do "
                          "not depend on it; memory holds about two videos' frames per worker."),
        click.option("--ray", "ray_address", metavar="ADDRESS",
                     help="Probe and decode on a Ray cluster instead (`auto`, `ray://HOST:10001`; `local` starts a "
                          "Ray instance on this machine). Needs the distributed extra, and the videos and the "
                          "workspace on a file system every node sees."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _run_ingest(ctx, source, name, label_rule="alert", **kw):
    from curation.ingest.clips import ClipConfig
    from curation.ingest.pipeline import IngestOptions, ingest

    if kw["split_shares"] is not None:
        if conflicting := _given(ctx, "folds", "val_fraction"):
            raise BadInput(f"--split sets the shares itself; it cannot go with {' or '.join(conflicting)}",
                           "give --split alone, or --folds K / --val-fraction F without it")
        val_fraction, test_fraction = _split_shares(kw["split_shares"])
    else:
        val_fraction, test_fraction = kw["val_fraction"], 0.0
    options = IngestOptions(clip=ClipConfig(kw["clip_frames"], kw["clip_seconds"], kw["stride"], kw["anchor_every"]),
                            label_rule=label_rule, val_fraction=val_fraction, test_fraction=test_fraction,
                            folds=kw["folds"], seed=kw["seed"], frame_size=kw["frame_size"])
    engine = None
    if kw["ray_address"]:
        from curation.ingest.ray_engine import RayEngine

        engine = RayEngine(None if kw["ray_address"] == "local" else kw["ray_address"], num_cpus=kw["workers"])
    result = ingest(_ws(ctx), source, name, options, discard_edits=kw["discard_edits"], workers=kw["workers"],
                    engine=engine)
    if result.unchanged:
        click.echo(f"{name}: input unchanged since the last ingest; no new revision "
                   f"({', '.join(f'{t}@{n}' for t, n in sorted(result.revisions.items()))})")
        return
    revs = ", ".join(f"{t}@{n}" for t, n in result.revisions.items())
    click.echo(f"{name}: registered {revs} in {result.seconds:.1f} s ({result.frames_decoded} frames decoded)")
    click.echo("videos: " + ", ".join(f"{k} {v}" for k, v in sorted(result.status.items())))
    for split, n in sorted(result.clips.items()):
        click.echo(f"clips {split}: {n} ({result.positives.get(split, 0)} positive)")
    for vid, status, reason in result.problems:
        click.echo(f"  {status:<11} {vid}: {reason}")
    for vid, reason in result.warnings:
        click.echo(f"  {'warning':<11} {vid}: {reason}")
    for table, report in result.carried.items():
        _echo_carry(table, report)


def _split_shares(text: str) -> tuple[float, float]:
    """`0.7,0.15,0.15` → (val, test) shares; they must be three numbers adding up to 1."""
    try:
        shares = [float(x) for x in text.split(",")]
    except ValueError:
        shares = []
    if len(shares) != 3 or any(s < 0 for s in shares) or abs(sum(shares) - 1) > 1e-6 or shares[0] <= 0:
        raise BadInput(f"--split {text!r} is not three shares adding up to 1", "use e.g. --split 0.7,0.15,0.15")
    return shares[1], shares[2]


def _echo_carry(table: str, report: dict) -> None:
    """What a re-ingest did with the user's edits of one table."""
    if report["discarded"]:
        click.echo(f"{table}: your edits since the last ingest were discarded (--discard-edits)")
        return
    counts = ", ".join(f"{k} {report[k]}" for k in ("deleted", "reweighted", "relabeled") if report[k])
    if counts:
        click.echo(f"{table}: carried your edits forward by id: {counts}")
    if report["gone"]:
        shown = ", ".join(report["gone_ids"][:5]) + (" …" if report["gone"] > 5 else "")
        click.echo(f"{table}: {report['gone']} edited id(s) are no longer in the source; those edits no longer "
                   f"apply: {shown}")
    for c in report["label_conflicts"][:10]:
        click.echo(f"{table}: {c['id']}: the source label changed from {c['source_was']} to {c['source_now']}; "
                   f"your relabel to {c['user']} is kept")
    if report["label_agreed"]:
        click.echo(f"{table}: the source now agrees with {report['label_agreed']} of your relabels")


@cli.group()
def ingest():
    """Register a dataset as versioned videos / frames / clips tables (frames decoded once into a cache)."""


@ingest.command("nexar")
@click.argument("root", type=click.Path())
@click.option("--label-rule", default="alert", show_default=True,
              help="'alert': clips ending between alert and event are positive; 'horizon:S': within S s before it.")
@_ingest_options
@click.pass_context
def ingest_nexar(ctx, root, name, label_rule, **kw):
    """Nexar layout: ROOT/train.csv, ROOT/test.csv, ROOT/train/<id>.mp4, ROOT/test/<id>.mp4."""
    from curation.ingest.sources import read_nexar

    _run_ingest(ctx, read_nexar(root), name or "nexar", label_rule, **kw)


@ingest.command("folders")
@click.argument("root", type=click.Path())
@_ingest_options
@click.pass_context
def ingest_folders(ctx, root, name, **kw):
    """One sub-folder of videos per class (UCF50-style); labels are the folder names."""
    from curation.ingest.sources import read_folders

    _run_ingest(ctx, read_folders(root), name or Path(root).resolve().name, **kw)


@ingest.command("manifest")
@click.argument("csv_path", metavar="CSV", type=click.Path())
@_ingest_options
@click.pass_context
def ingest_manifest(ctx, csv_path, name, **kw):
    """A CSV of path,label[,split][,start_s,end_s] (paths relative to the CSV's folder)."""
    from curation.ingest.sources import read_manifest

    _run_ingest(ctx, read_manifest(csv_path), name or Path(csv_path).stem, **kw)


@ingest.command("events")
@click.argument("csv_path", metavar="CSV", type=click.Path())
@click.option("--alpha", default=0.1, show_default=True,
              help="A positive clip ends at most this fraction of the gap to the previous event before an event.")
@click.option("--beta", default=0.1, show_default=True,
              help="… and at most this fraction of the gap to the next event after it.")
@click.option("--negatives-per-positive", default=3.0, show_default=True,
              help="At most this many negative clips per positive one, per video (evenly spread).")
@_ingest_options
@click.pass_context
def ingest_events(ctx, csv_path, alpha, beta, negatives_per_positive, name, **kw):
    """Event timestamps (e.g. split-timer runs): a CSV of path,group,event_s, one row per event (several per
    video; a row with an empty event_s for a video without events). Clips near an event are positive, clips
    away from every event negative; splits keep each group (track, rider) together. Inspect the samples with
    `curate report --table clips`."""
    from curation.ingest.sources import read_events

    _run_ingest(ctx, read_events(csv_path, alpha, beta, negatives_per_positive), name or Path(csv_path).stem, **kw)


@ingest.command("qa")
@click.argument("json_path", metavar="JSON", type=click.Path())
@click.option("--test", "test_json", type=click.Path(), help="The questions without answers (split test).")
@click.option("--context", default=0.5, show_default=True,
              help="Seconds of video on each side of a question's support frames.")
@_ingest_options
@click.pass_context
def ingest_qa(ctx, json_path, test_json, context, name, **kw):
    """Video QA (RoadBuddy layout): {"data": [{"id", "question", "choices", "answer", "support_frames",
    "video_path"}]}. Each question is a sample: one clip over its support frames (the whole video without them);
    the answer's letter is the label; question, choices and answer are columns."""
    from curation.ingest.sources import read_qa

    _run_ingest(ctx, read_qa(json_path, test_json, context), name or Path(json_path).stem, **kw)


# -- tables -------------------------------------------------------------------------------------------
@cli.command()
@click.pass_context
def tables(ctx):
    """List tables with their head revision."""
    ws = _ws(ctx)
    specs = ws.tables.list_tables()
    if not specs:
        click.echo(f"no tables in {ws.root} — run `curate ingest ...` first")
        return
    click.echo(f"{'table':<24} {'head':>5} {'rows':>9}  {'updated':<25} message")
    for spec in specs:
        head = ws.tables.head(spec.dataset, spec.name)
        mark = "*" if spec.dataset == ws.dataset else " "
        click.echo(f"{mark}{spec.full_name:<23} {head.number:>5} {head.rows:>9}  {head.created:<25} {head.message}")


@cli.command()
@click.argument("table")
@click.pass_context
def log(ctx, table):
    """Revisions of TABLE, newest first, with counts and tags."""
    from curation.tables import TableRef, parse_ref

    ws = _ws(ctx)
    ref = parse_ref(table)
    head = ws.resolve(TableRef(ref.dataset, ref.name))
    tags = ws.tables.tags(head.dataset, head.table)
    by_rev = {}
    for tag, n in tags.items():
        by_rev.setdefault(n, []).append(tag)
    for rev in reversed(ws.tables.revisions(head.dataset, head.table)):
        counts = ", ".join(f"{k} {v}" for k, v in rev.counts.items() if v)
        tag_text = f" [{', '.join(by_rev[rev.number])}]" if rev.number in by_rev else ""
        click.echo(f"{rev.table}@{rev.number}{tag_text}  {rev.created}  {rev.op:<7} rows {rev.rows}"
                   f"{'  (' + counts + ')' if counts else ''}  {rev.message}")


@cli.command()
@click.argument("a")
@click.argument("b")
@click.option("--ids", "show_ids", default=10, show_default=True, help="How many ids to list per change.")
@click.pass_context
def diff(ctx, a, b, show_ids):
    """What changed from revision A to revision B (e.g. `curate diff clips@1 clips@latest`)."""
    from curation.tables.content import diff_revisions

    ws = _ws(ctx)
    ra, rb = ws.resolve(a), ws.resolve(b)
    d = diff_revisions(ws.tables, ra, rb)
    click.echo(f"{ra.ref} → {rb.ref}: " + ", ".join(f"{k} {v}" for k, v in d.counts().items()))
    for kind in ("added", "deleted", "reweighted", "relabeled"):
        items = getattr(d, kind)
        for item in items[:show_ids]:
            click.echo(f"  {kind:<10} " + (item if isinstance(item, str) else f"{item[0]}: {item[1]} → {item[2]}"))
        if len(items) > show_ids:
            click.echo(f"  {kind:<10} … {len(items) - show_ids} more")


@cli.command()
@click.argument("table")
@click.option("--delete", "delete_ids", metavar="IDS", is_flag=False, flag_value=WHERE,
              help="Ids to delete (comma-separated, or @FILE); bare --delete with --where deletes the matches.")
@click.option("--weight", metavar="W", help="Set this weight on --ids (0 excludes them from training).")
@click.option("--label", metavar="L", help="Set this label (class name or index) on --ids.")
@click.option("--ids", metavar="IDS", help="The ids --weight / --label apply to (comma-separated, or @FILE).")
@click.option("--from", "from_file", type=click.Path(), help="An edit file: id,action,value[,level,reason,score].")
@click.option("--where", help="Instead of --ids: rows matching this condition, e.g. \"weight < 1 and label == 1\" "
                               "(with --run, over its metrics too; see README: Filters).")
@click.option("--run", "run_ref", help="With --where: join this run's per-sample metrics by id first.")
@click.option("-m", "--message", required=True, help="What this edit does and why.")
@click.option("--rebase", is_flag=True, help="If TABLE@REV is no longer the head, apply the edit to the head anyway.")
@click.pass_context
def edit(ctx, table, delete_ids, weight, label, ids, from_file, where, run_ref, message, rebase):
    """Delete, reweight or relabel rows of TABLE by id, as one new revision.

    TABLE@REV names the revision the edit is based on; if the head has moved past it the edit is
    refused (no update is lost) unless --rebase. Unknown ids reject the whole edit.
    """
    from curation.tables import Edit, parse_ref
    from curation.tables.commit import commit_edit
    from curation.tables.content import VAL_WARNING
    from curation.tables.requests import edit_from_file, label_index, parse_ids, parse_weight

    ws = _ws(ctx)
    ref = parse_ref(table)
    base = ws.resolve(ref)
    spec = ws.tables.spec(base.dataset, base.table)
    chosen = [x for x in (delete_ids, weight, label, from_file) if x is not None]
    if len(chosen) != 1:
        raise BadInput("give exactly one of --delete, --weight, --label, --from", "see `curate edit --help`")
    if where and (ids is not None or delete_ids not in (None, WHERE)):
        raise BadInput("--where selects the ids itself", "use a bare --delete, --weight or --label with it")
    if delete_ids == WHERE and not where:
        raise BadInput("a bare --delete deletes what --where selects", "add --where EXPR, or name ids")
    if where:
        from curation.review.metrics import revision_with_metrics
        from curation.tables.requests import query

        selected = query(revision_with_metrics(ws, base, run_ref), where=where)[spec.id_column].tolist()
        if not selected:
            raise BadInput(f"no rows of {base.ref} match --where {where!r}", "loosen the expression; nothing written")
    elif (weight is not None or label is not None) and not ids:
        raise BadInput("--weight and --label need --ids (or --where)", "add --ids ID,ID or --ids @FILE")
    else:
        selected = parse_ids(ids) if ids else None
    if from_file is not None:
        change = edit_from_file(ws.tables, base, from_file)
    elif delete_ids is not None:
        change = Edit(delete=set(selected if delete_ids == WHERE else parse_ids(delete_ids)))
    elif weight is not None:
        w = parse_weight(weight)
        change = Edit(weights={i: w for i in selected})
    else:
        lab = label_index(spec, label)
        change = Edit(labels={i: lab for i in selected})
    committed = commit_edit(ws.tables, base, change, message, rebase)
    rev = committed.revision
    if committed.val_touched:
        click.echo("warning: " + VAL_WARNING.format(n=committed.val_touched).replace("`compare`", "`curate compare`"),
                   err=True)
    if not committed.changed:
        click.echo(f"{rev.ref}: the edit changes nothing; no new revision")
        return
    counts = ", ".join(f"{k} {v}" for k, v in rev.counts.items())
    click.echo(f"{rev.table}@{rev.number}: {counts} — {rows_text(rev.rows)}")


@cli.command()
@click.argument("table_rev", metavar="TABLE@REV")
@click.argument("tag")
@click.option("--force", is_flag=True, help="Move the tag if it already points elsewhere.")
@click.pass_context
def tag(ctx, table_rev, tag, force):
    """Name a revision (`curate tag clips@3 round-2`, then use clips@round-2)."""
    ws = _ws(ctx)
    rev = ws.resolve(table_rev)
    ws.tables.set_tag(rev.dataset, rev.table, tag, rev.number, force=force)
    click.echo(f"{rev.table}@{tag} → revision {rev.number}")


@cli.command()
@click.argument("table_rev", metavar="TABLE@REV")
@click.option("-m", "--message", help="Why (default: 'revert to REV').")
@click.pass_context
def revert(ctx, table_rev, message):
    """Make a new head revision whose content equals TABLE@REV (history is kept)."""
    ws = _ws(ctx)
    target = ws.resolve(table_rev)
    rev = ws.tables.revert(target.dataset, target.table, target.number,
                           message=message or f"revert to {target.number}")
    if rev.number == target.number:
        click.echo(f"{rev.ref} is already the head; no new revision")
        return
    click.echo(f"{rev.table}@{rev.number}: content of revision {target.number} ({rows_text(rev.rows)})")


@cli.command()
@click.argument("table_rev", metavar="TABLE[@REV]")
@click.option("--where", help="Filter: \"label == 1 and weight < 1\", \"split in ['train', 'val']\", "
                               "\"loss is null\", \"startswith(video_id, '01')\" (see README: Filters).")
@click.option("--sort", help="Column to sort by.")
@click.option("--desc", is_flag=True, help="Sort descending.")
@click.option("-n", "--limit", default=20, show_default=True, type=click.IntRange(0, 2**31 - 1, clamp=True),
              help="Rows to show (0: all).")
@click.option("--columns", help="Comma-separated columns to show.")
@click.option("--csv", "as_csv", is_flag=True, help="Write CSV to stdout instead of a table.")
@click.option("--run", "run_ref", help="Join a run's per-sample metrics by clip_id (loss, prob, margin, aum, …).")
@click.option("--epoch", type=int, help="With --run: the epoch whose dynamics to show (default: the last).")
@click.option("--by", type=click.Choice(["clip", "video"]), default="clip", show_default=True,
              help="video: one row per video (clips, positives, mean weight; per metric its mean and worst clip, "
                   "e.g. loss_max, aum_low); --where/--sort then use those columns.")
@click.pass_context
def show(ctx, table_rev, where, sort, desc, limit, columns, as_csv, run_ref, epoch, by):
    """Rows of a table revision (default: the head), optionally joined with a run's metrics:
    `curate show clips --run last --where "loss > 1.5 and label == 1" --sort loss --desc`, or per video:
    `curate show clips --run last --by video --sort aum_low`."""
    import pandas as pd

    from curation.review.metrics import per_video, revision_with_metrics
    from curation.tables.requests import query

    ws = _ws(ctx)
    rev = ws.resolve(table_rev)
    table = revision_with_metrics(ws, rev, run_ref, epoch)
    if by == "video":
        if "video_id" not in table.column_names:
            raise BadInput(f"{rev.table} has no video_id column to group by", "use --by clip")
        table = per_video(table)
    df = query(table, where=where, sort=sort, descending=desc, limit=limit or None,
               columns=columns.split(",") if columns else None)
    if as_csv:
        click.echo(df.to_csv(index=False), nl=False)
        return
    with pd.option_context("display.max_columns", 30, "display.width", 200):
        click.echo(df.to_string(index=False) if len(df) else "(no rows)")
    shown = f"{len(df):,} videos shown of {table.num_rows:,}" if by == "video" else \
        f"{rows_text(len(df))} shown of {rows_text(rev.rows)}"
    click.echo(f"{rev.ref}: {shown}")


# -- training -----------------------------------------------------------------------------------------
@cli.command()
@click.option("--table", default="latest", show_default=True,
              help="Clips revision to train on: latest (clips@latest of the current dataset), clips@3, clips@TAG.")
@click.option("--resume", metavar="RUN", help="Continue a killed run from its last checkpoint (other options ignored).")
@click.option("--val-table", help="Validation revision (default: the val split of the training revision).")
@click.option("--model", type=click.Choice(["mvit_v2_s", "mvit_tiny"]), default="mvit_v2_s", show_default=True,
              help="mvit_v2_s (16×224×224, 34.5 M params) or mvit_tiny (16×64×64, for CPU and tests).")
@click.option("--weights", type=click.Choice(["kinetics400", "none"]), default="kinetics400", show_default=True,
              help="Pretrained backbone weights; if they cannot be loaded: a notice and random init.")
@click.option("--epochs", default=10, show_default=True)
@click.option("--batch-size", default=16, show_default=True, help="Clips per step (per rank under torchrun).")
@click.option("--lr", default=1e-4, show_default=True, help="AdamW learning rate (cosine schedule).")
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
    if seeds is not None and _given(ctx, "repeat", "seed"):
        raise BadInput("--seeds names every seed itself", "give --seeds alone, or --seed S --repeat N without it")
    if resume and (ignored := _given(ctx, *[n for n in kwargs if n not in ("device", "workers")])):
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
        resolve_train_table(_ws(ctx), TrainConfig(**kwargs).table)
    if smoke:
        from curation.train.smoke import smoke_test

        report = smoke_test(_ws(ctx), TrainConfig(**kwargs), echo=click.echo)
        for stage, seconds, what in report.stages:
            click.echo(f"{stage:<11} {seconds:6.1f} s  {what}")
        click.echo(f"smoke test passed on {report.table} in {report.seconds:.1f} s; nothing was written")
        return
    from curation.train.loop import train as run_training
    from curation.train.loop import train_folds, train_repeats

    if folds:
        runs = train_folds(_ws(ctx), TrainConfig(**kwargs), folds, echo=click.echo)
    elif len(seed_list) > 1:
        runs = train_repeats(_ws(ctx), TrainConfig(**kwargs), seed_list, echo=click.echo)
    else:
        runs = [run_training(_ws(ctx), None if resume else TrainConfig(**kwargs), resume=resume, echo=click.echo)]
    for run in runs:
        if run and os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 speaks for the run
            record = _ws(ctx).runs.record(run)
            click.echo(f"{run}: {record.status}; best {_best_text(record)}; {_ws(ctx).runs.dir(run)}")


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
    store = _ws(ctx).runs
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

    ws = _ws(ctx)
    name = run_collect(ws, run_ref, table_ref, checkpoint)
    run = ws.runs.resolve(run_ref)
    click.echo(f"{run}: wrote collection {name} ({ws.runs.dir(run) / 'collect' / (name + '.parquet')})")


@cli.command()
@click.option("--run", "run_ref", default="last", show_default=True, help="Run id, its number, or last.")
@click.option("--table", "table_ref", help="Table revision (default: the revision the run trained on).")
@click.option("--split", default="test", show_default=True, help="Which split of the table to score.")
@click.option("--batch-size", type=int, help="Clips per forward pass for the timing (default: the run's).")
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="best", show_default=True)
@click.pass_context
def evaluate(ctx, run_ref, table_ref, split, batch_size, checkpoint):
    """Score a run on a split of a table: accuracy, macro-F1, per-class accuracy and confusion (the competition's
    mAP for Nexar), and inference ms per clip at a batch size. Recorded in the run (run.json `evaluations`)."""
    from curation.train.evaluate import evaluate as run_evaluation

    ws = _ws(ctx)
    result = run_evaluation(ws, run_ref, table_ref, split, batch_size, checkpoint)
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
    videos, and the probability that it is better. Runs without predictions for the set get one inference
    pass, kept in the run."""
    import json

    from curation.fsutil import output_target
    from curation.review.compare import compare as run_compare
    from curation.review.compare import plot_compare
    from curation.train.collect import collect

    if plot:
        output_target(plot)  # refused before the work
    ws = _ws(ctx)
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
        verdict = "better" if low > 0 else "worse" if high < 0 else "no clear difference"
        click.echo(f"{d['b']} − {d['a']}: {d['difference']:+.4f}  [{low:+.4f}, {high:+.4f}]  "
                   f"P(better) {d['p_b_better']:.2f}  → {verdict}")
        if d["revision_diff"]:
            click.echo("  training revisions differ by: " + ", ".join(f"{k} {v}" for k, v in d["revision_diff"].items()))
        for what, moved in (("improved", [m for m in d["improved"] if m[1] > 0]),
                            ("worsened", [m for m in d["worsened"] if m[1] < 0])):
            if moved:
                click.echo(f"  {what} most (video: change of the truth's probability): "
                           + ", ".join(f"{v} {x:+.2f}" for v, x in moved))
    if plot:
        click.echo(f"wrote {plot}")


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

    prov = write_submission(_ws(ctx), list(runs), table, out, checkpoint, tta, echo=click.echo)
    click.echo(f"wrote {out} ({prov['rows']} videos, runs {', '.join(r['run'] for r in prov['runs'])}) "
               f"and {provenance_path(out)}")


@cli.command()
@click.option("--run", "run_ref", default="last", show_default=True, help="Run whose metrics to read.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Write the edit file here (default: stdout).")
@click.option("--label-action", type=click.Choice(["weight", "delete"]), default="weight", show_default=True,
              help="What to propose for label issues.")
@click.option("--label-value", default="0", show_default=True, help="The weight proposed for label issues.")
@click.option("--threshold", type=float,
              help="Flag a video when the mean AUM of its own-label clips is more than this many robust standard "
                   "deviations below the videos of its label (default 1.5; lower: more recall, less precision).")
@click.option("--fold-runs", help="Comma-separated k-fold runs of one revision (curate train --folds): label "
                                  "issues by confident learning on their out-of-fold probabilities.")
@click.pass_context
def suggest(ctx, run_ref, out, label_action, label_value, threshold, fold_runs):
    """Propose edits from a run (label issues, near-duplicates and leaks, unreadable videos, outliers) as an
    edit file: id,level,action,value,signal,reason,score. Nothing is applied: review it, then
    `curate edit clips --from FILE -m MSG`."""
    from curation.fsutil import output_target, write_output
    from curation.review.suggest import suggest as propose
    from curation.review.suggest import to_csv

    if out:
        output_target(out)  # refused before the work
    options = {"threshold": threshold} if threshold is not None else {}  # else label_issues' default
    found = propose(_ws(ctx), run_ref, fold_runs=fold_runs.split(",") if fold_runs else None,
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

        click.echo(f"wrote {write_table_report(_ws(ctx), table_ref, out, worst)}")
        return
    from curation.review.report import write_report

    click.echo(f"wrote {write_report(_ws(ctx), run_ref or 'last', out, worst)}")


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

    ws = _ws(ctx)
    run = store_predictions(ws, name, file, table_ref)
    record = ws.runs.record(run)
    accuracy = record.best_value
    click.echo(f"{run}: {record.epochs[0]['predictions']} predictions over {record.inputs.ref}"
               + (f", accuracy {accuracy:.4f}" if accuracy is not None else ""))


@cli.command()
@click.argument("table_ref", metavar="TABLE@REV")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="File to write.")
@click.option("--format", "fmt", type=click.Choice(["qa-json", "nexar-csv", "events-csv", "manifest-csv"]),
              help="Default: the dataset's own layout.")
@click.pass_context
def export(ctx, table_ref, out, fmt):
    """Write a curated revision of the samples table back in the source layout: deleted (and weight-0) samples
    gone, relabels applied. QA: a JSON like the input (plus OUT-test.json for unanswered questions)."""
    from curation.export import export as write_export

    result = write_export(_ws(ctx), table_ref, out, fmt)
    click.echo(f"wrote {result.samples} samples to {', '.join(map(str, result.files))}"
               + (f" ({result.left_out} at weight 0 left out)" if result.left_out else ""))
    for note in result.notes:
        click.echo(f"note: {note}")


@cli.command()
@click.argument("table", required=False)
@click.option("--run", "run_ref", help="The run whose metrics and map to show first (default: the last run).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to serve on: loopback by default; 0.0.0.0 (every interface) or one interface's address "
                   "to share it, always behind a token.")
@click.option("--port", default=5016, show_default=True, type=click.IntRange(1, 65535))
@click.option("--token", help="The secret every request needs, proved once by opening the printed URL (a cookie "
                              "follows). Off loopback a new one is made and printed when none is given; on loopback "
                              "there is none unless given.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="A name (or name:port) clients may use for this server besides its address, e.g. the machine's "
                   "DNS name or a reverse proxy's; repeatable.")
@click.option("--read-only", is_flag=True, help="Serve views only: every change is refused (for sharing results).")
@click.option("--workspace", "-w", "workspace", type=click.Path(file_okay=False),
              help="The workspace to serve (the same as `curate -w DIR dashboard`).")
@click.pass_context
def dashboard(ctx, table, run_ref, host, port, token, allow_hosts, read_only, workspace):
    """Look, select and edit in the browser: the samples grid with a run's metrics (safe filters, sort, paging,
    a row per clip or per video), the run's embedding map (colour by label, prediction, loss, AUM, split, weight
    or suggestion; lasso or box selection), the clip viewer (frames, the video's timeline, training dynamics),
    suggestions to accept or reject, revisions (diff, tag, revert) and runs (curves, two side by side). Edits
    from any view are staged and committed as one revision. TABLE (e.g. clips@3) is the page opened first.
    Serves until Ctrl-C."""
    from curation.dashboard.server import serve

    if workspace:
        ctx.obj["workspace_arg"] = (workspace, ctx.obj["workspace_arg"][1])
    serve(_ws(ctx), host, port, token, echo=click.echo, table=table, run=run_ref, allow_hosts=allow_hosts,
          read_only=read_only)


# -- demo ---------------------------------------------------------------------------------------------
@cli.command()
@click.option("--workspace", "demo_dir", type=click.Path(file_okay=False), default="demo-workspace",
              show_default=True, help="Folder for the demo's dataset and workspace.")
@click.option("--seed", default=0, show_default=True)
def demo(demo_dir, seed):
    """Run the loop end to end on a synthetic dataset, offline on CPU."""
    from curation.demo import run_demo

    run_demo(Path(demo_dir), seed=seed, echo=click.echo)


def main(args: list[str] | None = None):
    """The console script (`args`: the command line after `curate`, default sys.argv): click's usage errors are
    one line too (exit 2), like every other mistake."""
    try:
        code = cli.main(args=args, prog_name="curate", standalone_mode=False)
    except click.UsageError as err:
        where = err.ctx.command_path if err.ctx else "curate"
        click.echo(f"error: {err.format_message()} — see `{where} --help`", err=True)
        sys.exit(2)
    except click.ClickException as err:
        click.echo(f"error: {err.format_message()}", err=True)
        sys.exit(err.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
