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
