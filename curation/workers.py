"""Worker processes that end with the process that owns them, even when it is killed with -9 (a worker blocked
on its job queue would otherwise wait forever: it holds the queue's other end itself)."""
from __future__ import annotations

import os
import threading
import time


def process_alive(pid: int) -> bool:
    """Whether `pid` runs (a killed process not yet reaped by its parent is a zombie: not running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def exit_with(owner: int) -> None:
    """Called at a worker's start: end this process when `owner` is gone."""
    def watch():
        while process_alive(owner):
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-owner", daemon=True).start()
