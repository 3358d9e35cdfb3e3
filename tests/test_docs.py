"""Every command line in the README and docs/ runs as written: each `curate` line of their shell blocks names a
command that exists, with options it has and values its options take (click parses the line without running it),
and that command's --help answers. The README stays a page a newcomer reads to the end."""
import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from curation.cli import cli

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def command_lines(text: str) -> list[str]:
    """The `curate` command lines of a page's code blocks, continuation lines joined, comments dropped; `uv run
    curate` and `torchrun … -m curation.cli` count as curate."""
    lines = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for command in re.split(r"&&|\|", line):  # chained or piped: each command on its own
                if not re.match(r"\s*(curate|uv run curate|torchrun) ", command):
                    continue  # another program, a diagram, the filter language
                words = shlex.split(command, comments=True)
                if words[:2] == ["uv", "run"]:
                    words = words[2:]
                if "curation.cli" in words:
                    words = ["curate", *words[words.index("curation.cli") + 1:]]
                if words[:1] == ["curate"]:
                    lines.append(words)
    return lines


def parse(words: list[str]) -> list[str]:
    """Parse a command line as `curate` would, down to its command, without running it; the command's path."""
    ctx = cli.make_context("curate", words[1:])
    command, path = cli, []
    while isinstance(command, click.Group):
        rest = ctx._protected_args + ctx.args  # what the group left for its command (click ≥ 8.2 keeps it here)
        name, command, rest = command.resolve_command(ctx, rest)
        path.append(name)
        ctx = command.make_context(name, rest, parent=ctx)
    return path


def test_the_pages_have_command_lines():
    found = {page.name: len(command_lines(page.read_text())) for page in PAGES}
    assert found["README.md"] >= 8 and found["commands.md"] >= 30 and found["layouts.md"] >= 5, found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_command_line_parses_and_its_command_has_help(page):
    helped = set()
    for words in command_lines(page.read_text()):
        try:
            path = parse(words)
        except click.ClickException as exc:
            pytest.fail(f"{page.name}: `{shlex.join(words)}`: {exc.format_message()}")
        if tuple(path) not in helped:
            result = CliRunner().invoke(cli, [*path, "--help"])
            assert result.exit_code == 0 and "Usage: " in result.output, (path, result.output)
            helped.add(tuple(path))


def test_a_wrong_option_or_command_in_a_page_is_caught():
    with pytest.raises(click.NoSuchOption):
        parse(["curate", "train", "--epoch", "3"])
    with pytest.raises(click.UsageError):
        parse(["curate", "ingest", "nexus", "data"])
    assert parse(["curate", "-w", "ws", "ingest", "nexar", "data", "--folds", "5"]) == ["ingest", "nexar"]


def test_the_readme_is_a_page_a_newcomer_reads_to_the_end():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    block = text.split("## The two commands", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    assert len([line for line in block.splitlines() if line.strip()]) == 2  # two commands, as the heading says
    for link in re.findall(r"\]\(([^)#]+)\)", text):
        assert (ROOT / link).exists(), link
