"""The 3LC backend. `tlc` is imported here and nowhere else."""
from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

from curation.errors import CurateError


class BackendUnavailable(CurateError):
    """The selected backend cannot be used on this machine."""


def _import_tlc():
    try:
        # tlc validates the API key online at import time and logs its own error lines; ours is the one line.
        logging.disable(logging.CRITICAL)
        with contextlib.redirect_stderr(io.StringIO()):
            import tlc  # noqa: F401
    except Exception as exc:  # no key, no network, or not installed: all say the same to the user
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        reason = reason.split(". ")[0].removeprefix("API key error: ")
        raise BackendUnavailable(
            f"the 3lc backend needs a usable 3LC API key and network access ({reason[:120]})",
            "run `3lc login <key>` or set TLC_API_KEY, or use the embedded store: --backend lance "
            "(or unset CURATE_BACKEND)") from None
    finally:
        logging.disable(logging.NOTSET)
    return tlc


def open_tlc_store(workspace_root: Path):
    _import_tlc()
    raise BackendUnavailable("the 3lc table store is not implemented yet",
                             "use the embedded store: --backend lance")
