"""The frame cache: frames decoded once at ingest, resized and stored as JPEG bytes in one Lance dataset.

Measured (DESIGN.md): JPEG bytes in a Lance table + decode_jpeg beat one JPEG file per frame (108 vs 85
clips/s), and a single dataset keeps the file count at a few per thousand frames instead of one per frame.

`<cache>/frames.lance` holds frame_id, video_id, index, jpeg; `<cache>/videos.json` maps each fully cached
video to the signature (size, mtime) of the source it was decoded from, so changed videos are decoded again.
`<cache>` is `cache/<dataset>/` of the workspace: a folder, or that prefix in a bucket (through its storage).

Crash safety: the first write creates the store in one Lance call, later ones write fragments and make them
visible by one commit, and the index is written only after the frames it names are committed, so a kill at any
point leaves a cache that is complete for every video its index names. A cache left unreadable by an older version
is rebuilt.
Writers hold `<cache>/.lock` (one ingest at a time per dataset; a lease on a bucket).
"""
from __future__ import annotations

from pathlib import Path

import lance
import numpy as np
import pyarrow as pa

from curation.faults import fault_point
from curation.frames.jpeg import decode_jpeg
from curation.storage import as_storage, read_json, write_json

FRAMES, INDEX = "frames.lance", "videos.json"
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
    def __init__(self, where, size: int = 256, flush_frames: int = 2048):
        self.storage = as_storage(where)  # the dataset's cache: a folder, or a bucket's prefix
        self.size = size
        self.flush_frames = flush_frames
        self._pending: list[tuple[str, int, bytes]] = []
        self._pending_videos: dict[str, str] = {}

    @property
    def path(self) -> str:
        return self.storage.uri(FRAMES)

    def cached_videos(self) -> dict[str, dict]:
        """The index (video_id → signature, size, indices); empty while there is no store for it to describe (a
        first write killed, or a store an older version left unreadable)."""
        return read_json(self.storage, INDEX) if self.storage.exists(INDEX) and self._exists() else {}

    def lock(self):
        """Held by a writer for its whole ingest, so that two ingests never decode and store the same frames."""
        return self.storage.lock(".lock")

    def _exists(self) -> bool:
        """Whether the frame store holds a committed Lance dataset (files without a manifest are not one)."""
        return lance_version(self.path) is not None

    def forget(self, video_ids) -> None:
        """Drop cached frames of these videos (before they are decoded again)."""
        video_ids = sorted(set(video_ids))
        index = self.cached_videos()
        for v in video_ids:
            index.pop(v, None)
        write_json(self.storage, INDEX, index)
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
        if self._exists():
            fragments = lance.fragment.write_fragments(table, self.path, schema=SCHEMA)
            self.commit_fragments(fragments, self._pending_videos)
        else:  # one call that creates the store whole (a create killed midway leaves files no version names)
            fault_point("cache.before_commit")
            lance.write_dataset(table, self.path, mode="create", schema=SCHEMA)
            self._index_committed(self._pending_videos)
        self._pending, self._pending_videos = [], {}

    def commit_fragments(self, fragments: list, videos: dict[str, dict]) -> None:
        """Commit fragments written to the store (`lance.fragment.write_fragments` to `path`, here or by workers
        elsewhere: a Ray cluster) as one new version of it, then record `videos` (video_id → signature, size,
        indices) in the index. Fragments that are never committed stay invisible; the first commit creates the
        store, so a first write killed before it leaves no store, only files no version names."""
        if fragments:
            fault_point("cache.before_commit")
            version = lance_version(self.path)
            operation = lance.LanceOperation.Append(fragments) if version else \
                lance.LanceOperation.Overwrite(SCHEMA, fragments)
            lance.LanceDataset.commit(self.path, operation, read_version=version)
        self._index_committed(videos)

    def _index_committed(self, videos: dict[str, dict]) -> None:
        """Name videos in the index — only after their frames are committed."""
        fault_point("cache.before_index")
        index = self.cached_videos()
        index.update(videos)
        write_json(self.storage, INDEX, index)


def lance_version(uri: str) -> int | None:
    """The latest version of the Lance dataset at `uri`, or None when there is none there."""
    try:
        return lance.dataset(uri).version
    except (ValueError, OSError):
        return None


# A cache up to this size is read whole into memory by a reader that asks (the training loader, which reads every
# clip again each epoch): a take from Lance costs 2-4 ms a clip on 2 cores against 2 ms to decode its 16 JPEGs.
IN_MEMORY_BYTES = 256 << 20


class FrameReader:
    """Random access to cached frames by frame_id, pinned to one version of the cache. `in_memory`: hold the
    cache's bytes in memory when it is at most IN_MEMORY_BYTES on disk (else read from Lance as usual)."""

    def __init__(self, cache, in_memory: bool = False):
        self._ds = lance.dataset(as_storage(cache).uri(FRAMES))
        small = in_memory and stored_bytes(self._ds) <= IN_MEMORY_BYTES
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


def stored_bytes(ds) -> int:
    """What a Lance dataset's columns take in storage."""
    return sum(f.bytes_on_disk for f in ds.stats.data_stats().fields)
