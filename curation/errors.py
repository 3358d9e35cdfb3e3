"""User-facing errors: one line that names the problem and the fix; the CLI exits with code 2."""


class CurateError(Exception):
    """A user mistake or bad input. `str(err)` is the whole message shown to the user."""

    exit_code = 2

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem} — {fix}" if fix else problem)


class NotFound(CurateError):
    """An unknown table, revision, tag, run, file or id."""


class BadInput(CurateError):
    """Malformed input: a CSV without the needed columns, an invalid value, an unparsable reference."""


class Conflict(CurateError):
    """A write based on a revision that is no longer the head."""


def exception_line(exc: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message (or its type name), cut to `limit` characters: what a
    status row or a one-line error can show of a failure from a library."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:limit]
