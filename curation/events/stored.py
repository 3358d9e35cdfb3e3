"""What predict-events left in a run, read back without the model: a video's whole-video curve and its
predicted times (the dashboard's clip viewer draws them)."""
from __future__ import annotations

import numpy as np
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


def newest_prediction(ws, run: str, dataset: str) -> tuple[dict, dict[str, tuple[np.ndarray, np.ndarray]]] | None:
    """The run's newest predict-events result over a revision of `dataset`'s clips, and its curves by video;
    None when there is none."""
    record = ws.runs.record(run)
    found = sorted((r.get("created", ""), key.removeprefix("events:"), r) for key, r in record.evaluations.items()
                   if key.startswith("events:") and r.get("table", "").startswith(f"{dataset}/"))
    if not found or (curves := ws.runs.curves(run, found[-1][1])) is None:
        return None
    return found[-1][2], curves_by_video(curves)


def curves_by_video(curves) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """video_id → (times, scores) in time order, from one sort of a curves table."""
    ordered = curves.sort_by([("video_id", "ascending"), ("time_s", "ascending")])
    ids = np.asarray(ordered["video_id"].to_pylist(), dtype=object)
    times, scores = ordered["time_s"].to_numpy().astype(float), ordered["score"].to_numpy().astype(float)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, int)
    ends = np.r_[starts[1:], len(ids)]
    return {ids[a]: (times[a:b], scores[a:b]) for a, b in zip(starts, ends)}
