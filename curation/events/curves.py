"""Whole-video score curves: a run's model slid over every window of each video (a clip ending every `step`
frames, with the clip geometry it trained on), decoded straight from the video files at the cache's square size
(the frame cache holds only the frames of the ingested clips). A video that cannot be decoded is recorded and
skipped, never stops the pass."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch

from curation.frames.jpeg import squash
from curation.frames.timeline import Timeline
from curation.frames.video import DecodeError, decode_frames
from curation.ingest.clips import ClipConfig, frame_indices
from curation.progress import progress_bar

CURVE_SCHEMA = pa.schema([("video_id", pa.string()), ("split", pa.string()), ("end_frame", pa.int32()),
                          ("time_s", pa.float32()), ("score", pa.float32())])


def window_ends(n_frames: int, span: int, step: int) -> list[int]:
    """End frames of the windows that fit: from the first full window to the last frame, every `step`."""
    if n_frames - 1 < span:
        return []
    ends = list(range(span, n_frames, step))
    return ends if ends[-1] == n_frames - 1 else ends + [n_frames - 1]


@torch.no_grad()
def score_curves(predictor, videos: list[dict], root: str | Path, clip: ClipConfig, frame_size: int,
                 step_frames: int = 0, progress: bool = True) -> tuple[pa.Table, list[tuple[str, str]]]:
    """The positive class's score at every window of each video (rows of the videos table: video_id, path,
    split, fps, n_frames, frame_times_s), at the window end frames' times: (a table of CURVE_SCHEMA,
    [(video_id, why)] of the videos skipped). `step_frames` 0:
    one window per stride."""
    transform = replace(predictor.eval_tf, normalize=True)
    predictor.model.eval()
    rows, skipped = [], []
    for v in progress_bar(videos, desc="score curves", unit="video", show=progress):
        fps, n = v.get("fps"), v.get("n_frames")
        if not fps or not n:
            skipped.append((v["video_id"], "not probed (unreadable at ingest)"))
            continue
        stride, timeline = clip.stride_for(fps), Timeline.of_video(v)
        ends = window_ends(n, (clip.n_frames - 1) * stride, step_frames or stride)
        needed = sorted({i for e in ends for i in frame_indices(e, stride, clip.n_frames)})
        try:
            frames = {i: squash(f, frame_size) for i, f in decode_frames(Path(root) / v["path"], needed)}
        except DecodeError as exc:
            skipped.append((v["video_id"], str(exc)))
            continue
        scores = _scores(predictor, transform, frames, ends, stride, clip.n_frames)
        rows += [{"video_id": v["video_id"], "split": v.get("split"), "end_frame": e, "time_s": timeline.time_of(e),
                  "score": float(s)} for e, s in zip(ends, scores)]
    return pa.Table.from_pylist(rows, schema=CURVE_SCHEMA), skipped


def _scores(predictor, transform, frames: dict, ends: list[int], stride: int, n_frames: int) -> np.ndarray:
    out = []
    for k in range(0, len(ends), predictor.batch_size):
        batch = torch.stack([transform(np.stack([frames[i] for i in frame_indices(e, stride, n_frames)]))
                             for e in ends[k:k + predictor.batch_size]]).to(predictor.device)
        logits = predictor.model(batch)[0].float()
        prob = torch.sigmoid(logits[:, 0]) if predictor.binary else torch.softmax(logits, dim=1)[:, 1]
        out.append(prob.cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)
