"""Commands over table revisions: `tables`, `log`, `diff`, `edit`, `tag`, `revert`, `show`."""
from __future__ import annotations

import click

from curation.cli.app import WHERE, cli, open_workspace, rows_text
from curation.errors import BadInput

LONG_COLUMNS = ("frame_times_s",)  # left out of `show` unless --columns names them


@cli.command()
@click.pass_context
def tables(ctx):
    """List tables with their head revision."""
    ws = open_workspace(ctx)
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

    ws = open_workspace(ctx)
    ref = parse_ref(table)
    head = ws.resolve(TableRef(ref.dataset, ref.name))
    tags = ws.tables.tags(head.dataset, head.table)
    by_rev = {}
    for tag, n in tags.items():
        by_rev.setdefault(n, []).append(tag)
    for rev in reversed(ws.tables.revisions(head.dataset, head.table)):
        counts = ", ".join(f"{k} {v}" for k, v in rev.counts.items() if v)
        tag_text = f" [{', '.join(by_rev[rev.number])}]" if rev.number in by_rev else ""
        author = f"  by {rev.meta['author']}" if rev.meta.get("author") else ""
        click.echo(f"{rev.table}@{rev.number}{tag_text}  {rev.created}  {rev.op:<7} rows {rev.rows}"
                   f"{'  (' + counts + ')' if counts else ''}{author}  {rev.message}")


@cli.command()
@click.argument("a")
@click.argument("b")
@click.option("--ids", "show_ids", default=10, show_default=True, help="How many ids to list per change.")
@click.pass_context
def diff(ctx, a, b, show_ids):
    """What changed from revision A to revision B (e.g. `curate diff clips@1 clips@latest`)."""
    from curation.tables.content import diff_revisions

    ws = open_workspace(ctx)
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
@click.option("--from", "from_file", type=click.Path(),
              help="An edit file: id,action,value[,level,reason,score]; actions delete, weight, label, retime.")
@click.option("--where", help="Instead of --ids: rows matching this condition, e.g. \"weight < 1 and label == 1\" "
                               "(with --run, over its metrics too; see docs/commands.md: Filters).")
@click.option("--run", "run_ref", help="With --where: join this run's per-sample metrics by id first.")
@click.option("-m", "--message", required=True, help="What this edit does and why.")
@click.option("--rebase", is_flag=True, help="If TABLE@REV is no longer the head, apply the edit to the head anyway.")
@click.option("--author", help="Who makes the edit, recorded in the revision [default: your user name].")
@click.pass_context
def edit(ctx, table, delete_ids, weight, label, ids, from_file, where, run_ref, message, rebase, author):
    """Delete, reweight or relabel rows of TABLE by id, as one new revision.

    TABLE@REV names the revision the edit is based on; if the head has moved past it the edit is
    refused (no update is lost) unless --rebase. Unknown ids reject the whole edit.

    An edit file's retime rows (`VIDEO,retime,NEW` or `VIDEO,retime,OLD:NEW`, seconds) move a video's labelled
    event time: the dataset's tables are re-derived from its source with the move, after the other rows'
    revision, and later ingests keep it.
    """
    from curation.tables import Edit, parse_ref
    from curation.tables.commit import commit_edit
    from curation.tables.requests import label_index, parse_ids, parse_weight

    ws = open_workspace(ctx)
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
    if from_file is not None:  # retime rows move videos' times: applied after the table's own edit
        from curation.review.apply import apply_requests
        from curation.tables.requests import read_edit_file

        applied = apply_requests(ws, base, read_edit_file(from_file), message, rebase, author=author)
        if applied.committed is not None:
            _report(applied.committed)
        if applied.retimed is not None:
            click.echo(f"retimed {applied.moved} labelled time(s) of {applied.videos_moved} video(s): "
                       + ", ".join(f"{name}@{number}" for name, number in applied.retimed.revisions.items()))
        return
    if delete_ids is not None:
        change = Edit(delete=set(selected if delete_ids == WHERE else parse_ids(delete_ids)))
    elif weight is not None:
        w = parse_weight(weight)
        change = Edit(weights={i: w for i in selected})
    else:
        lab = label_index(spec, label)
        change = Edit(labels={i: lab for i in selected})
    _report(commit_edit(ws.tables, base, change, message, rebase, author))


def _report(committed) -> None:
    """What a committed table edit did: its counts, or that it changed nothing; a warning when val rows moved."""
    from curation.tables.content import VAL_WARNING

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
    ws = open_workspace(ctx)
    rev = ws.resolve(table_rev)
    ws.tables.set_tag(rev.dataset, rev.table, tag, rev.number, force=force)
    click.echo(f"{rev.table}@{tag} → revision {rev.number}")


@cli.command()
@click.argument("table_rev", metavar="TABLE@REV")
@click.option("-m", "--message", help="Why (default: 'revert to REV').")
@click.pass_context
def revert(ctx, table_rev, message):
    """Make a new head revision whose content equals TABLE@REV (history is kept)."""
    ws = open_workspace(ctx)
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
                               "\"loss is null\", \"startswith(video_id, '01')\" (see docs/commands.md: Filters).")
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
    `curate show clips --run last --by video --sort aum_low`. The videos table has each video's container rate
    (fps), its mean rate from the frames' timestamps (mean_fps) and whether the rate varies (vfr):
    `curate show videos --where "vfr"`."""
    import pandas as pd

    from curation.review.metrics import per_video, revision_with_metrics
    from curation.tables.requests import query

    ws = open_workspace(ctx)
    rev = ws.resolve(table_rev)
    table = revision_with_metrics(ws, rev, run_ref, epoch)
    if by == "video":
        if "video_id" not in table.column_names:
            raise BadInput(f"{rev.table} has no video_id column to group by", "use --by clip")
        table = per_video(table)
    df = query(table, where=where, sort=sort, descending=desc, limit=limit or None,
               columns=columns.split(",") if columns else None)
    if not columns:  # every frame's time of a video whose rate varies: too long for a row; --columns shows it
        df = df.drop(columns=[c for c in LONG_COLUMNS if c in df.columns])
    if as_csv:
        click.echo(df.to_csv(index=False), nl=False)
        return
    with pd.option_context("display.max_columns", 30, "display.width", 200):
        click.echo(df.to_string(index=False) if len(df) else "(no rows)")
    shown = f"{len(df):,} videos shown of {table.num_rows:,}" if by == "video" else \
        f"{rows_text(len(df))} shown of {rows_text(rev.rows)}"
    click.echo(f"{rev.ref}: {shown}")
