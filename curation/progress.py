"""Progress bars for long work, shown only on a terminal: captured or piped stderr keeps just the messages
(a failing command's stderr is its one error line)."""
from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(iterable=None, *, show: bool = True, **kwargs) -> tqdm:
    return tqdm(iterable, disable=not (show and sys.stderr.isatty()), **kwargs)
