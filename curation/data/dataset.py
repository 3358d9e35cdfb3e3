"""A map-style dataset over one resolved clips revision, reading frames from the frame cache.

Items are dicts: video (C, T, H, W) float, label (-1 when unlabelled), weight, clip_id, index. A clip that
cannot be read (frame missing from the cache and no readable source, a corrupt JPEG) comes back as
{clip_id, index, error}; `collate_clips` drops it from the batch and reports it under "skipped", so a bad
clip never ends an epoch (the trainer stops only when too many are skipped). Only read and decode errors
count as bad data: any other failure, such as a bug in a transform, stops the run. Each worker process opens
its own cache reader (nothing is shared across fork).
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import os
from pathlib import Path

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.io import decode_jpeg as decode_jpeg_batch

from curation.data.memory import keep_freed_memory
from curation.data.transforms import ClipTransform
from curation.errors import Fix, OutOfMemory, exception_line
from curation.ingest.clips import frame_indices
from curation.frames.cache import FRAMES, FrameReader, frame_id, lance_version
from curation.storage import as_storage
from curation.frames.jpeg import decode_jpeg, encode_jpeg
from curation.frames.video import decode_frames
from curation.task import VIDEOS, find_task
from curation.workers import exit_with


class ClipReadError(Exception):
    """A clip's frames cannot be read: missing from the cache and the source, or undecodable."""


class ClipDataset(Dataset):
    def __init__(self, clips: pa.Table, cache, transform: ClipTransform,
                 sources: dict[str, str] | None = None, frame_size: int = 256):
        self.clip_ids = clips["clip_id"].to_pylist()
        self.video_ids = clips["video_id"].to_pylist()
        self.end_frame = clips["end_frame"].to_numpy()
        self.stride = clips["stride"].to_numpy()
        self.n_frames = clips["n_frames"].to_numpy()
        self.labels = clips["label"].fill_null(-1).to_numpy().astype(np.int64)
        self.weights = clips["weight"].to_numpy().astype(np.float32)
        self.rows = clips  # every column of the selected rows, for callers that need more (eval windows, …)
        self.cache = as_storage(cache)  # the dataset's frame cache: a folder or a bucket's prefix
        self.transform = transform
        self.sources = sources or {}  # video_id → source file, for clips missing from the cache
        self.frame_size = frame_size
        self._reader: FrameReader | None = None
        self._reader_pid: int | None = None
        self.jpeg_out = False  # set by ClipLoader(decode_on_device=True)

    @classmethod
    def from_revision(cls, workspace, revision, transform: ClipTransform, splits: list[str] | None = None,
                      where: pc.Expression | None = None, with_sources: bool = True) -> "ClipDataset":
        """All clips of `revision` (optionally only some splits, or rows matching `where`), in id order."""
        table = workspace.tables.read(revision)
        if splits:
            table = table.filter(pc.field("split").isin(splits))
        if where is not None:
            table = table.filter(where)
        table = table.sort_by("clip_id")
        task = find_task(workspace.tables, revision.dataset)
        sources = {}
        if with_sources and task is not None:
            videos = workspace.tables.read(task.head(workspace.tables, VIDEOS), ["video_id", "path"])
            root = Path(task.root)
            sources = {v: str(root / p) for v, p in zip(videos["video_id"].to_pylist(), videos["path"].to_pylist())}
        size = task.frame_size if task is not None else 256
        return cls(table, workspace.cache(revision.dataset), transform, sources, size)

    def __len__(self) -> int:
        return len(self.clip_ids)

    def sample(self, n: int, seed: int = 0) -> "ClipDataset":
        """`n` clips drawn at random (all when there are fewer), kept in id order: a quick pass over a table."""
        if n >= len(self):
            return self
        keep = np.sort(np.random.default_rng(seed).choice(len(self), n, replace=False))
        return ClipDataset(self.rows.take(pa.array(keep)), self.cache, self.transform, self.sources,
                           self.frame_size)

    def _cache(self) -> FrameReader | None:
        if self._reader_pid != os.getpid():  # open per process: never reuse a handle across fork
            self._reader = (FrameReader(self.cache, in_memory=True) if lance_version(self.cache.uri(FRAMES))
                            else None)
            self._reader_pid = os.getpid()
        return self._reader

    def frames(self, i: int, min_side: int = 0) -> np.ndarray:
        """The clip's frames, (T, H, W, 3) uint8 RGB, from the cache or else from the source video;
        ClipReadError when neither can be read. `min_side`: cached frames may come smaller, down to this side
        (decoded at reduced scale, `decode_jpeg`)."""
        return _as_read_error(self._read_frames, i, min_side)

    def jpegs(self, i: int) -> list[bytes]:
        """The clip's frames as JPEG bytes: the cache's own, or (a clip missing from the cache) the source's frames
        encoded; ClipReadError when neither can be read."""
        return _as_read_error(self._read_jpegs, i)

    def _read_frames(self, i: int, min_side: int) -> np.ndarray:
        cached = self._cached_jpegs(i)
        return np.stack([decode_jpeg(b, min_side) for b in cached]) if cached is not None else self._source_frames(i)

    def _read_jpegs(self, i: int) -> list[bytes]:
        cached = self._cached_jpegs(i)
        return cached if cached is not None else [encode_jpeg(f, self.frame_size) for f in self._source_frames(i)]

    def _indices(self, i: int) -> list[int]:
        """The clip's frame numbers in its video, oldest first."""
        return frame_indices(int(self.end_frame[i]), int(self.stride[i]), int(self.n_frames[i]))

    def _frame_ids(self, i: int) -> list[str]:
        return [frame_id(self.video_ids[i], k) for k in self._indices(i)]

    def _cached_jpegs(self, i: int) -> list[bytes] | None:
        ids = self._frame_ids(i)
        cache = self._cache()
        return cache.read(ids) if cache is not None and all(f in cache for f in ids) else None

    def _source_frames(self, i: int) -> np.ndarray:
        source = self.sources.get(self.video_ids[i])
        if not source or not os.path.exists(source):
            raise LookupError(f"frames of {self.clip_ids[i]} are not in the cache and no source video is readable")
        indices = self._indices(i)
        decoded = dict(decode_frames(source, sorted(set(indices))))
        size = (self.frame_size, self.frame_size)
        return np.stack([cv2.resize(decoded[k], size, interpolation=cv2.INTER_AREA) for k in indices])

    def __getitem__(self, i: int) -> dict:
        """The clip transformed; with `jpeg_out`, its JPEG bytes and its random draw instead, for the consumer to
        decode and transform on its device (`ClipLoader(decode_on_device=True)`)."""
        try:
            if self.jpeg_out:
                item = {"jpegs": [torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in self.jpegs(i)]}
                if self.transform.train:
                    item["draw"] = self.transform.draw(self.frame_size, self.frame_size)
            else:
                # frames only as large as the transform's output needs (any callable without a size: whole);
                # a failing transform is a bug: it stops the run
                item = {"video": self.transform(self.frames(i, min_side=getattr(self.transform, "size", 0)))}
        except ClipReadError as exc:  # bad data: recorded and skipped by collate_clips, never fatal
            return {"clip_id": self.clip_ids[i], "index": i, "error": str(exc)}
        return {**item, "label": int(self.labels[i]), "weight": float(self.weights[i]), "clip_id": self.clip_ids[i],
                "index": i}


def _as_read_error(read, *args):
    """`read(*args)`, with a failure to read or decode (decoders raise RuntimeError kinds too) as ClipReadError."""
    try:
        return read(*args)
    except (OSError, ValueError, LookupError, RuntimeError) as exc:
        raise ClipReadError(exception_line(exc, 200)) from exc


def collate_clips(items: list[dict]) -> dict:
    good = [it for it in items if "error" not in it]
    if good and "jpegs" in good[0]:  # decoded by the consumer: the frames of all clips in one list
        frames = {"jpegs": [f for it in good for f in it["jpegs"]],
                  "draws": torch.stack([it["draw"] for it in good]) if "draw" in good[0] else None}
    else:
        frames = {"video": torch.stack([it["video"] for it in good]) if good else torch.empty(0)}
    return {
        **frames,
        "label": torch.tensor([it["label"] for it in good], dtype=torch.long),
        "weight": torch.tensor([it["weight"] for it in good], dtype=torch.float32),
        "clip_id": [it["clip_id"] for it in good],
        "index": torch.tensor([it["index"] for it in good], dtype=torch.long),
        "skipped": [(it["clip_id"], it["error"]) for it in items if "error" in it],
    }


def _exit_with(owner: int, _worker_id: int) -> None:
    """Worker start-up: end this worker when the process that owns the loader is gone (even by kill -9).
    A forkserver worker's parent is the fork server, which lives as long as its workers do, so neither
    torch's own parent check nor the fork server would ever end them."""
    exit_with(owner)


def _named_worker_deaths(loader):
    """The loader's batches; a worker that died (killed by the out-of-memory killer, most often) is one line with
    what to change, not torch's traceback."""
    batches = iter(loader)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except RuntimeError as exc:
            if "DataLoader worker" not in str(exc):
                raise
            raise OutOfMemory(f"a data loader worker died ({exception_line(exc)}): most likely the machine ran out "
                              "of memory", Fix("use fewer loader workers or a smaller batch size", "option",
                                               {"option": "workers", "value": max(loader.num_workers - 1, 0)})) from None
        yield batch


class ClipLoader:
    """A DataLoader over clips that hands out normalised float batches.

    With workers, clips cross process boundaries as uint8 and are normalised by the consumer (on `device`):
    float32 clips are 4× larger, and moving them between processes alone capped a 2-core machine at about
    70 clips/s (bench/README.md). Workers start by forkserver, since the Lance reader is not fork-safe, and
    persist across epochs so their start-up is paid once.

    `decode_on_device`: workers only read the clips' JPEG bytes and draw their augmentation; the consumer
    decodes them on `device` (nvJPEG through torchvision on a GPU) and applies the transform there
    (`ClipTransform.on_device`), so a GPU needs few CPU cores to be fed.
    """

    def __init__(self, dataset: ClipDataset, batch_size: int, sampler=None, workers: int = 0,
                 shuffle: bool = False, device: str | torch.device = "cpu", uint8_transport: bool | None = None,
                 prefetch: int = 2, decode_on_device: bool = False):
        keep_freed_memory()  # large freed buffers stay in the heap (memory.py)
        self.transform = dataset.transform
        self.decode_on_device = decode_on_device
        self.uint8_transport = not decode_on_device and (workers > 0 if uint8_transport is None else uint8_transport)
        if self.uint8_transport or decode_on_device:
            dataset = copy.copy(dataset)
            dataset.transform = dataclasses.replace(dataset.transform, normalize=False)
            dataset.jpeg_out = decode_on_device
        extra = {}
        if workers > 0:
            extra = dict(multiprocessing_context="forkserver", persistent_workers=True, prefetch_factor=prefetch,
                         worker_init_fn=functools.partial(_exit_with, os.getpid()))
        self.device = torch.device(device)
        self.loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler,
                                 shuffle=shuffle and sampler is None, num_workers=workers,
                                 collate_fn=collate_clips, pin_memory=self.device.type == "cuda", **extra)

    @property
    def sampler(self):
        return self.loader.sampler

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for batch in _named_worker_deaths(self.loader):
            if self.decode_on_device:
                yield self._decoded(batch)
                continue
            video = batch["video"].to(self.device, non_blocking=True)
            if self.uint8_transport and video.numel():
                video = self.transform.normalize_batch(video)
            yield {**batch, "video": video}

    def _decoded(self, batch: dict) -> dict:
        """The batch with its JPEGs decoded on the loader's device (nvJPEG on a GPU) and transformed there. A
        JPEG that does not decode skips its clip, as a bad clip does in the workers."""
        jpegs, draws = batch.pop("jpegs", []), batch.pop("draws", None)
        clips = len(batch["clip_id"])
        if not clips:
            return {**batch, "video": torch.empty(0)}
        per_clip = len(jpegs) // clips
        try:
            frames = decode_jpeg_batch(jpegs, device=self.device)
            keep = list(range(clips))
        except RuntimeError:  # find the clip(s) at fault
            frames, keep = [], []
            for c in range(clips):
                try:
                    frames += decode_jpeg_batch(jpegs[c * per_clip:(c + 1) * per_clip], device=self.device)
                    keep.append(c)
                except RuntimeError as exc:
                    batch["skipped"].append((batch["clip_id"][c], f"undecodable JPEG: {exception_line(exc)}"))
            if not keep:
                return {**_select(batch, keep), "video": torch.empty(0)}
            batch = _select(batch, keep)
        video = torch.stack(frames).reshape(len(keep), per_clip, *frames[0].shape)
        draws = draws[keep].to(self.device) if draws is not None else None
        return {**batch, "video": self.transform.on_device(video, draws)}


def _select(batch: dict, keep: list[int]) -> dict:
    """The batch's clips at positions `keep` (skipped clips stay listed)."""
    rows = torch.tensor(keep, dtype=torch.long)
    return {**batch, "label": batch["label"][rows], "weight": batch["weight"][rows],
            "index": batch["index"][rows], "clip_id": [batch["clip_id"][c] for c in keep]}

