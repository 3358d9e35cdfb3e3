"""Long-running commands: `dashboard`, `demo`."""
from __future__ import annotations

from pathlib import Path

import click

from curation.cli.app import cli, open_workspace


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
@click.option("--author", help="The name commits from the page are recorded with unless the page says another "
                               "[default: your user name].")
@click.option("--workspace", "-w", "workspace", type=click.Path(file_okay=False),
              help="The workspace to serve (the same as `curate -w DIR dashboard`).")
@click.pass_context
def dashboard(ctx, table, run_ref, host, port, token, allow_hosts, read_only, workspace, author):
    """Look, select and edit in the browser: the samples grid with a run's metrics (safe filters, sort, paging,
    a row per clip or per video), the run's embedding map (colour by label, prediction, loss, AUM, split, weight
    or suggestion; lasso or box selection), the clip viewer (frames, the video's timeline, training dynamics),
    suggestions to accept or reject, revisions (diff, tag, revert) and runs (curves, two side by side). Edits
    from any view are staged and committed as one revision. TABLE (e.g. clips@3) is the page opened first.
    Serves until Ctrl-C."""
    from curation.dashboard.server import serve

    if workspace:
        ctx.obj["workspace_arg"] = (workspace, ctx.obj["workspace_arg"][1])
    serve(open_workspace(ctx), host, port, token, echo=click.echo, table=table, run=run_ref, allow_hosts=allow_hosts,
          read_only=read_only, author=author)


@cli.command()
@click.option("--workspace", "demo_dir", type=click.Path(file_okay=False), default="demo-workspace",
              show_default=True, help="Folder for the demo's dataset and workspace.")
@click.option("--task", type=click.Choice(["nexar", "actions"]), default="nexar", show_default=True,
              help="nexar: dashcam collision prediction, labels wrong on near misses, cut-ins and dim crashes; "
                   "actions: action recognition, 10 classes in look-alike pairs, labels mistaken for their look-alike "
                   "(class-conditional noise).")
@click.option("--noise-model", type=click.Choice(["uniform", "class-conditional", "instance"]), default=None,
              help="How the 20% wrong labels are drawn [nexar: instance; actions: class-conditional]. instance: as "
                   "annotators err, on the hardest videos (in nexar with near misses, cut-ins and dim crashes among "
                   "them); uniform: flips that ignore the content.")
@click.option("--seed", default=0, show_default=True)
def demo(demo_dir, task, noise_model, seed):
    """Run the loop end to end on a synthetic dataset, offline on CPU: synth, ingest, train, suggest, edit,
    retrain, then both rounds scored on 200 held-out test videos (a paired interval over them) and what was
    flagged against what the generator injected."""
    from curation.demo import run_demo

    run_demo(Path(demo_dir), seed=seed, echo=click.echo, task=task, noise_model=noise_model)
