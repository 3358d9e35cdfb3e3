"""What suggest proposes: one row of an edit file per sample (`Suggestion`), the list with its notes, one action
per sample when several signals name a video, and the CSV the edit command reads."""
from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, replace

COLUMNS = ["id", "level", "action", "value", "signal", "reason", "score"]
SIGNALS = ("unreadable", "near-duplicate", "leak", "label issue", "timing", "outlier")


@dataclass
class Suggestion:
    id: str
    level: str  # clip | video
    action: str  # delete | weight | label | retime
    value: str
    signal: str  # one of SIGNALS: what found it, for counting and filtering without parsing the reason
    reason: str
    score: float  # in [0, 1]; higher = more certain
    partner: str = ""  # a near-duplicate's other video, shown beside it for review (not in the edit file)
    video: str = ""  # the video of a clip-level suggestion ("" when the id is the video)
    plain: str = ""  # what was seen, in words a reviewer reads first (review.words); `reason` has the figures


class Note(str):
    """Something suggest could not judge, and why (the text); `action` names what would let it (a command of the
    library, "" or "predict-events", for `run`), which a caller may offer as a button."""

    def __new__(cls, text: str, action: str = "", run: str = ""):
        note = super().__new__(cls, text)
        note.action, note.run = action, run
        return note


class Suggestions(list):
    """Suggestions, most certain first, and `notes` (`Note`s): what could not be judged and why (shown beside
    them)."""

    def __init__(self, items=(), notes=()):
        super().__init__(items)
        self.notes = [n if isinstance(n, Note) else Note(n) for n in notes]


def certainty(z: float) -> float:
    """A robust z-score as a score in [0, 1), comparable with the other signals' (z = 2 → 0.67)."""
    return round(float(z) / (1.0 + float(z)), 4)


def one_action_per_sample(found: list[Suggestion]) -> list[Suggestion]:
    """One action per video and its clips: the first signal in `found` to name a video keeps it (a corrupt or
    duplicated video needs no label review), its own clip-level rows for other clips of that video included; later
    signals on that video are dropped and named at the end of the kept rows' reasons."""
    owner, also = {}, {}
    for s in found:
        video = s.video or s.id
        first = owner.setdefault(video, s)
        if first.signal != s.signal or first.level != s.level:
            also.setdefault(video, []).append(s.signal)
    out, seen = [], set()
    for s in found:
        video = s.video or s.id
        first = owner[video]
        if s.id in seen or first.signal != s.signal or first.level != s.level:
            continue
        seen.add(s.id)
        others = sorted(set(also.get(video, ())))
        out.append(replace(s, reason=f"{s.reason}; also {', '.join(others)}") if others else s)
    return out


def to_csv(suggestions: list[Suggestion]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for s in suggestions:
        writer.writerow(asdict(s))
    return buf.getvalue()
