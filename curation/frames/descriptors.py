"""Per video, what the review's frame signals compare, computed from the frame cache once and kept beside it
(`<cache>/descriptors.lance`): `PER_VIDEO` evenly spaced frames as `SIZE`×`SIZE` grey thumbnails and the mean
frame at 8×8 RGB (its look). Ingest computes them for the videos it cached; a later read computes those still
missing (a cache made before descriptors were kept); a video decoded again (another signature in the cache's
videos.json) gets new ones."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import lance
import numpy as np
import pyarrow as pa

from curation.frames.cache import FrameCache, FrameReader, _sql_list, lance_version

PER_VIDEO, SIZE, LOOK = 12, 16, 8
DESCRIPTORS = "descriptors.lance"
SCHEMA = pa.schema([("video_id", pa.string()), ("signature", pa.string()), ("thumbs", pa.binary()),
                    ("look", pa.list_(pa.float32(), 3 * LOOK * LOOK))])

FramesOf = Callable[[list[str]], pa.Table]  # video ids → their rows of the frames table


@dataclass
class VideoDescriptors:
    """`videos` (sorted), each one's thumbnails ((c, SIZE·SIZE) uint8, c ≤ PER_VIDEO) and looks ((n, 192))."""
    videos: list[str]
    thumbs: list[np.ndarray]
    looks: np.ndarray


def _describe(reader: FrameReader, frame_ids: list[str]) -> tuple[bytes, list[float]]:
    """A video's evenly spaced thumbnails (uint8 bytes) and its look, from its cached frames (oldest first)."""
    pick = [frame_ids[int(k)] for k in np.linspace(0, len(frame_ids) - 1, min(PER_VIDEO, len(frame_ids)))]
    thumbs, looks = [], []
    for rgb in reader.images(pick, min_side=SIZE):
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        thumbs.append(cv2.resize(grey, (SIZE, SIZE), interpolation=cv2.INTER_AREA).ravel())
        looks.append(cv2.resize(rgb, (LOOK, LOOK), interpolation=cv2.INTER_AREA).astype(np.float32).ravel())
    return np.stack(thumbs).tobytes(), np.mean(looks, axis=0).tolist()


def video_descriptors(cache, videos, frames_of: FramesOf | None = None) -> VideoDescriptors:
    """The descriptors of `videos`, computing and keeping those missing or stale first (under the cache's writer
    lock) from `frames_of(their ids)`, their frames table's rows (frame_id, video_id, index); without `frames_of`
    only what is kept is read."""
    cache = FrameCache(cache)
    path = cache.storage.uri(DESCRIPTORS)
    wanted = sorted(set(videos))
    if frames_of is not None:
        with cache.lock():
            keep_descriptors(cache, wanted, frames_of)
    stored = lance.dataset(path).to_table().to_pylist() if lance_version(path) else []
    by_video = {r["video_id"]: r for r in stored}
    videos = [v for v in wanted if v in by_video]
    return VideoDescriptors(videos, [np.frombuffer(by_video[v]["thumbs"], np.uint8).reshape(-1, SIZE * SIZE)
                                     for v in videos],
                            np.asarray([by_video[v]["look"] for v in videos], np.float32).reshape(-1, 3 * LOOK * LOOK))


def keep_descriptors(cache: FrameCache, videos, frames_of: FramesOf) -> None:
    """Compute and keep the descriptors of those `videos` that have none, or stale ones, from `frames_of(their
    ids)`; the frames of the others are never asked for (the caller holds the cache's writer lock: ingest does)."""
    path = cache.storage.uri(DESCRIPTORS)
    wanted = sorted(set(videos))
    signatures = {v: f"{info.get('signature')}@{info.get('size')}" for v, info in cache.cached_videos().items()}
    exists = lance_version(path) is not None  # files no version names (a killed first write) are no store
    kept = ({r["video_id"]: r["signature"] for r in lance.dataset(path).to_table(columns=["video_id", "signature"])
             .to_pylist()} if exists else {})
    todo = [v for v in wanted if v in signatures and kept.get(v) != signatures[v]]
    if not todo:
        return
    reader = FrameReader(cache.storage)
    rows = frames_of(todo).select(["frame_id", "video_id", "index"]).to_pandas()
    rows = rows[rows["video_id"].isin(set(todo))].sort_values(["video_id", "index"])
    out = []
    for video, group in rows.groupby("video_id"):
        thumbs, look = _describe(reader, group["frame_id"].tolist())
        out.append({"video_id": video, "signature": signatures[video], "thumbs": thumbs, "look": look})
    table = pa.Table.from_pylist(out, schema=SCHEMA)
    if not exists:
        lance.write_dataset(table, path, mode="create", schema=SCHEMA)
        return
    stale = sorted(set(todo) & set(kept))
    if stale:  # decoded again: replaced (a reader between the two commits sees them missing, then computes)
        ds = lance.dataset(path)
        for start in range(0, len(stale), 500):
            ds.delete(f"video_id IN ({_sql_list(stale[start:start + 500])})")
    lance.write_dataset(table, path, mode="append", schema=SCHEMA)
