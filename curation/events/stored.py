"""What predict-events left in a run, read back without the model: a video's whole-video curve and its
predicted times (the dashboard's clip viewer draws them)."""
from __future__ import annotations

import pyarrow.compute as pc


def video_events(ws, run: str, video_id: str) -> dict | None:
    """The run's newest event prediction that scanned `video_id`: its whole-video curve ([time, score] pairs),
    the predicted times and the threshold; None when predict-events has not covered the video."""
    record = ws.runs.record(run)
    found = sorted(((r.get("created", ""), key.removeprefix("events:"), r) for key, r in record.evaluations.items()
                    if key.startswith("events:") and video_id in r.get("predicted", {})), key=lambda x: x[:2])
    if not found:
        return None
    _, name, result = found[-1]
    curves = ws.runs.curves(run, name)
    if curves is None:
        return None
    mine = curves.filter(pc.field("video_id") == video_id).sort_by("time_s")
    curve = [[round(t, 4), round(s, 4)] for t, s in zip(mine["time_s"].to_pylist(), mine["score"].to_pylist())]
    return {"table": result["table"], "threshold": result["threshold"], "predicted": result["predicted"][video_id],
            "curve": curve}
