"""UI-neutral errors: the library says what is wrong and what to do in plain words plus a structured remedy;
only the command line turns remedies into flags and commands."""
import ast
import re
import string
from pathlib import Path

import pytest

from curation.cli import CLI_FIXES, cli_message
from curation.errors import BadInput, Conflict, Fix, NotFound

PACKAGE = Path(__file__).parents[1] / "curation"
LIBRARY = [p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] != "cli"]
ERRORS = {"CurateError", "BadInput", "NotFound", "Conflict", "TooManySkipped", "BackendUnavailable", "Fix"}
FLAG_OR_COMMAND = re.compile(r"(?<![\w-])--[a-z]|`curate |@FILE")


def _calls():
    for path in LIBRARY:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ERRORS:
                yield path, node


def _words(node) -> str:
    """The literal text of an argument (the constant parts of an f-string)."""
    return "".join(n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str))


def test_library_errors_name_no_flag_or_command():
    found = [f"{path.name}:{node.lineno}: {_words(arg)!r}" for path, node in _calls() for arg in node.args
             if FLAG_OR_COMMAND.search(_words(arg))]
    assert not found, "\n".join(found)


def test_every_remedy_the_library_names_has_a_command_line_form_with_its_parameters():
    actions = {}
    for path, node in _calls():
        if node.func.id == "Fix" and len(node.args) >= 2:
            params = node.args[2] if len(node.args) > 2 else None
            keys = {k.value for k in params.keys} if isinstance(params, ast.Dict) else set()
            actions.setdefault(node.args[1].value, []).append((f"{path.name}:{node.lineno}", keys))
    assert set(actions) == set(CLI_FIXES)  # none missing, none unused
    for action, uses in actions.items():
        fields = {f for _, f, _, _ in string.Formatter().parse(CLI_FIXES[action]) if f}
        for where, keys in uses:
            assert fields <= keys, (where, action, fields - keys)


@pytest.mark.parametrize("err, neutral, cli", [
    (Conflict("3 id(s) changed", Fix("re-run it against the head, or rebase it", "rebase")),
     "3 id(s) changed — re-run it against the head, or rebase it", "or pass --rebase"),
    (NotFound("no epoch 9", Fix("pick an epoch from 1 to 3", "option", {"option": "epoch", "value": "1..3"})),
     "no epoch 9 — pick an epoch from 1 to 3", "no epoch 9 — use --epoch 1..3"),
    (BadInput("bad", "use 0.2"), "bad — use 0.2", "bad — use 0.2"),
    (BadInput("no fix"), "no fix", "no fix"),
])
def test_the_same_error_in_neutral_words_and_as_the_command_line_says_it(err, neutral, cli):
    assert str(err) == neutral and cli in cli_message(err)


def test_a_library_caller_gets_words_and_the_command_gets_flags(ws_dir):
    from conftest import curate
    from curation.tables import Edit
    from curation.workspace import Workspace

    ws = Workspace.open(ws_dir)
    ids = ws.tables.read(ws.resolve("clips"), ["clip_id"])["clip_id"].to_pylist()
    ws.tables.edit("nexar", "clips", Edit(weights={ids[0]: 0.5}), message="a")
    with pytest.raises(Conflict) as caught:
        ws.tables.edit("nexar", "clips", Edit(weights={ids[0]: 0.25}), message="b", base=1)
    assert caught.value.fix.action == "rebase" and "--" not in str(caught.value)
    proc = curate("-w", ws_dir, "edit", "clips@1", "--weight", "0.25", "--ids", ids[0], "-m", "b")
    assert proc.returncode == 2 and "pass --rebase" in proc.stderr
