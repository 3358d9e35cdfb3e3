"""Named fault points, for tests that must kill or break a process at an exact moment.

`CURATE_FAULT=point` kills the process (SIGKILL, like `kill -9`) the first time it reaches `point`;
`point@N` the N-th time; `point:raise` raises instead. Several, comma-separated. Unset (always, outside
tests), a fault point costs one dictionary lookup.
"""
from __future__ import annotations

import os
import signal
from collections import Counter

_reached: Counter = Counter()


class InjectedFault(RuntimeError):
    pass


def fault_point(name: str) -> None:
    spec = os.environ.get("CURATE_FAULT")
    if not spec:
        return
    _reached[name] += 1
    for item in spec.split(","):
        target, _, action = item.strip().partition(":")
        point, _, nth = target.partition("@")
        if point == name and _reached[name] == int(nth or 1):
            if action == "raise":
                raise InjectedFault(f"injected fault at {name}")
            os.kill(os.getpid(), signal.SIGKILL)
