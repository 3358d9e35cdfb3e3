"""Labelled event times that a run's score curves put elsewhere (`curation.events.timing.misplaced_times`, an
array function over the curves), as retime proposals."""
from __future__ import annotations

from curation.review.suggestion import Suggestion


def retime_suggestions(moves, labelled: dict[str, list[float]]) -> list[Suggestion]:
    """One `retime` proposal per move: the new time, or `old:new` for one event of a video's several."""
    out = []
    for m in moves:
        value = f"{m.suggested:.3f}" if len(labelled[m.video_id]) == 1 else f"{m.labelled:.3f}:{m.suggested:.3f}"
        how = (f"the curve follows its label pattern best at {m.suggested:.2f} s (error {m.at_suggested:.2f} "
               f"there, {m.at_label:.2f} at the label)" if m.by == "pattern" else
               f"the curve peaks at {m.suggested:.2f} s (score {m.at_suggested:.2f} there, {m.at_label:.2f} at the "
               "label)")
        out.append(Suggestion(m.video_id, "video", "retime", value, "timing",
                              f"labelled at {m.labelled:.2f} s, {how}, the model's lag of {m.lag:+.2f} s taken off",
                              m.certainty, plain=f"The model sees the event at {m.suggested:.2f} s, not at the "
                                                 f"labelled {m.labelled:.2f} s: the labelled time may be off."))
    return out
