"""The `curate` group: its options, the one-line error handling every command shares (CurateError, usage errors,
files the user may not read or write, memory), how the command line words the library's remedies (CLI_FIXES), and
the helpers the command modules share."""
from __future__ import annotations

import errno
import sys

import click

from curation.errors import CurateError

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
                   "$CURATE_WORKSPACE); or s3://BUCKET/PREFIX, a workspace in an S3 bucket (AWS_ENDPOINT_URL, "
                   "AWS_REGION and the AWS credentials from the environment; AWS_ALLOW_HTTP=true for plain http).")
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


def given_options(ctx, *names: str) -> list[str]:
    """The options among `names` the user set (on the command line or by environment), as flags."""
    from click.core import ParameterSource

    given = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    flags = {p.name: p.opts[0] for p in ctx.command.params}
    return [flags[n] for n in names if ctx.get_parameter_source(n) in given]


def open_workspace(ctx):
    from curation.workspace import Workspace

    if "workspace" not in ctx.obj:
        ctx.obj["workspace"] = Workspace.open(*ctx.obj["workspace_arg"])
    return ctx.obj["workspace"]


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

