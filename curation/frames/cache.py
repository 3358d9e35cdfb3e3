"""The frame cache: frames decoded once at ingest, resized and stored as JPEG bytes in one Lance dataset.

Measured (DESIGN.md): JPEG bytes in a Lance table + decode_jpeg beat one JPEG file per frame (108 vs 85
clips/s), and a single dataset keeps the file count at a few per thousand frames instead of one per frame.

`<cache>/frames.lance` holds frame_id, video_id, index, jpeg; `<cache>/videos.json` maps each fully cached
video to the signature (size, mtime) of the source it was decoded from, so changed videos are decoded again.

Crash safety: the first write goes to a temporary folder that is renamed into place, later writes are Lance
appends (atomic commits), and the index is written only after the frames it names are committed, so a kill at
any point leaves a cache that is complete for every video its index names. A cache left unreadable by an
older version is rebuilt. Writers hold `<cache>/.lock` (one ingest at a time per dataset).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import lance
import numpy as np
import pyarrow as pa

from curation.faults import fault_point
from curation.frames.jpeg import decode_jpeg
from curation.fsutil import atomic_write_json, file_lock, read_json

SCHEMA = pa.schema([("frame_id", pa.string()), ("video_id", pa.string()), ("index", pa.int32()),
                    ("jpeg", pa.binary())])


def frame_id(video_id: str, index: int) -> str:
    return f"{video_id}:{index}"


def file_signature(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def cache_size_for(train_size: int) -> int:
    """The cached frame size that suits clips of `train_size` px: the recipe's 256 → 224 ratio (its crops keep
    their geometry), a multiple of 8 (JPEG blocks)."""
    return 8 * round(train_size * 256 / 224 / 8)


def oversized_cache_note(cached: int, train_size: int) -> str | None:
    """A hint when frames are cached at twice the size that suits the clips or more (training small from a
    256-px cache): a cache near the training size loads several times faster (bench/README.md)."""
    suited = cache_size_for(train_size)
    if cached < 2 * suited:
        return None
    return (f"frames are cached at {cached} px for {train_size}-px clips; a dataset ingested at a frame size of "
            f"{suited} px would load several times faster")


def frames_table(rows: list[tuple[str, int, bytes]]) -> pa.Table:
    """(video_id, index, JPEG bytes) rows as the store's table."""
    vids, idx, jpegs = zip(*rows)
    return pa.table({"frame_id": [frame_id(v, i) for v, i in zip(vids, idx)], "video_id": list(vids),
                     "index": pa.array(idx, pa.int32()), "jpeg": pa.array(jpegs, pa.binary())}, schema=SCHEMA)


def _sql_list(values) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


class FrameCache:
    def __init__(self, folder: str | Path, size: int = 256, flush_frames: int = 2048):
        self.folder = Path(folder)
        self.size = size
        self.flush_frames = flush_frames
        self._pending: list[tuple[str, int, bytes]] = []
        self._pending_videos: dict[str, str] = {}

    @property
    def path(self) -> str:
        return str(self.folder / "frames.lance")

    @property
    def _index_path(self) -> Path:
        return self.folder / "videos.json"

    def cached_videos(self) -> dict[str, dict]:
        return read_json(self._index_path) if self._index_path.exists() else {}

    def lock(self):
        """Held by a writer for its whole ingest, so that two ingests never decode and store the same frames."""
        return file_lock(self.folder / ".lock")

    def _exists(self) -> bool:
        """Whether the frame store holds a committed Lance dataset; a folder without one (a first write
        killed by an older version) is removed together with the index, which cannot describe it."""
        if not os.path.exists(self.path):
            return False
        try:
            lance.dataset(self.path)
            return True
        except (ValueError, OSError):
            shutil.rmtree(self.path)
            self._index_path.unlink(missing_ok=True)
            return False

    def forget(self, video_ids) -> None:
        """Drop cached frames of these videos (before they are decoded again)."""
        video_ids = sorted(set(video_ids))
        index = self.cached_videos()
        for v in video_ids:
            index.pop(v, None)
        atomic_write_json(self._index_path, index)
        if video_ids and self._exists():
            ds = lance.dataset(self.path)
            for start in range(0, len(video_ids), 500):
                ds.delete(f"video_id IN ({_sql_list(video_ids[start:start + 500])})")

    def add_video(self, video_id: str, signature: str, frames: list[tuple[int, bytes]]) -> int:
        """One video's (index, JPEG bytes) frames, all of them (a video that failed to decode midway is not
        added); committed with the next flush."""
        self._pending.extend((video_id, int(i), j) for i, j in frames)
        self._pending_videos[video_id] = {"signature": signature, "size": self.size,
                                          "indices": [int(i) for i, _ in frames]}
        if len(self._pending) >= self.flush_frames:
            self.flush()
        return len(frames)

    def flush(self) -> None:
        if not self._pending:
            return
        table = frames_table(self._pending)
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._exists():
            lance.write_dataset(table, self.path, mode="append", schema=SCHEMA)
        else:  # written aside and renamed into place: a kill never leaves a half-created store
            staging = self._staging()
            lance.write_dataset(table, str(staging), mode="create", schema=SCHEMA)
            self._publish(staging)
        self._index_committed(self._pending_videos)
        self._pending, self._pending_videos = [], {}

    def fragment_target(self) -> str:
        """Where workers elsewhere (a Ray cluster) write fragments of frames (`lance.fragment.write_fragments`):
        the store itself, or a staging folder while there is none; `commit_fragments` makes them visible."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.path if self._exists() else str(self._staging())

    def commit_fragments(self, target: str, fragments: list, videos: dict[str, dict]) -> None:
        """Commit fragments written to `target` as one new version of the store, then record `videos` (video_id
        → signature, size, indices) in the index. Fragments that are never committed stay invisible."""
        if fragments:
            if target == self.path:
                lance.LanceDataset.commit(self.path, lance.LanceOperation.Append(fragments),
                                          read_version=lance.dataset(self.path).version)
            else:
                lance.LanceDataset.commit(target, lance.LanceOperation.Overwrite(SCHEMA, fragments))
                self._publish(Path(target))
        self._index_committed(videos)

    def _staging(self) -> Path:
        for stale in self.folder.glob(".frames.lance.*.tmp"):  # left by a killed writer (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        return self.folder / f".frames.lance.{os.getpid()}.tmp"

    def _publish(self, staging: Path) -> None:
        fault_point("cache.before_publish")
        os.rename(staging, self.path)

    def _index_committed(self, videos: dict[str, dict]) -> None:
        """Name videos in the index — only after their frames are committed."""
        fault_point("cache.before_index")
        index = self.cached_videos()
        index.update(videos)
        atomic_write_json(self._index_path, index)


# A cache up to this size is read whole into memory by a reader that asks (the training loader, which reads every
# clip again each epoch): a take from Lance costs 2-4 ms a clip on 2 cores against 2 ms to decode its 16 JPEGs.
IN_MEMORY_BYTES = 256 << 20


class FrameReader:
    """Random access to cached frames by frame_id, pinned to one version of the cache. `in_memory`: hold the
    cache's bytes in memory when it is at most IN_MEMORY_BYTES on disk (else read from Lance as usual)."""

    def __init__(self, cache_folder: str | Path, in_memory: bool = False):
        path = Path(cache_folder) / "frames.lance"
        self._ds = lance.dataset(str(path))
        small = in_memory and sum(f.stat().st_size for f in path.rglob("*.lance")) <= IN_MEMORY_BYTES
        table = self._ds.to_table(columns=["frame_id", "jpeg"] if small else ["frame_id"])
        ids = table["frame_id"].to_pylist()
        self._offset = {fid: i for i, fid in enumerate(ids)}
        self._bytes = dict(zip(ids, table["jpeg"].to_pylist())) if small else None

    def __contains__(self, fid: str) -> bool:
        return fid in self._offset

    def read(self, frame_ids: list[str]) -> list[bytes]:
        """JPEG bytes in the order asked; KeyError names the first missing frame."""
        if self._bytes is not None:
            return [self._bytes[f] for f in frame_ids]
        offsets = [self._offset[f] for f in frame_ids]
        return self._ds.take(offsets, columns=["jpeg"])["jpeg"].to_pylist()

    def images(self, frame_ids: list[str], min_side: int = 0) -> list[np.ndarray]:
        """The frames decoded (H×W×3 uint8 RGB), each at least `min_side` px a side when cached that large."""
        return [decode_jpeg(data, min_side) for data in self.read(frame_ids)]
