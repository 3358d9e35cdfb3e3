"""User-facing errors: one line that names the problem and the fix; the CLI exits with code 2 (1 for a run that
failed on its own)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fix:
    """How to fix a mistake: `text` in words any caller can show (the demo, a bench, the dashboard); `action`
    names the remedy and `params` fill it in, so a front end can render its own way to take it (the CLI: a
    flag or a command, see cli.CLI_FIXES)."""
    text: str
    action: str = ""
    params: dict = field(default_factory=dict)


class CurateError(Exception):
    """A user mistake or bad input. `str(err)` is the whole message in neutral words: problem — fix."""

    exit_code = 2

    def __init__(self, problem: str, fix: str | Fix | None = None):
        self.problem = problem
        self.fix = Fix(fix) if isinstance(fix, str) else fix
        super().__init__(self.message())

    def message(self, fix_text: str | None = None) -> str:
        """The one line to show, with `fix_text` (a front end's rendering of the fix) instead of the words."""
        text = fix_text or (self.fix.text if self.fix else "")
        return f"{self.problem} — {text}" if text else self.problem


class NotFound(CurateError):
    """An unknown table, revision, tag, run, file or id."""


class BadInput(CurateError):
    """Malformed input: a CSV without the needed columns, an invalid value, an unparsable reference."""


class Conflict(CurateError):
    """A write based on a revision that is no longer the head."""


class RunFailed(CurateError):
    """A run that started well and then failed on its own (its loss diverged): not the caller's input, so the
    CLI exits 1, still with one line that says why and what to change."""

    exit_code = 1


class OutOfMemory(CurateError):
    """A process of the run died or could not allocate (the kernel's out-of-memory killer, most often)."""


def exception_line(exc: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message (or its type name), cut to `limit` characters: what a
    status row or a one-line error can show of a failure from a library."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:limit]
