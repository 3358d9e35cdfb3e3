"""A collection's embeddings behind a nearest-neighbour index kept beside it (`collect/<name>.faiss`), so that
"which clips are nearest this one" reads the index, not every embedding: every inner product below `EXACT_BELOW`
clips, above it an inverted file of fp16 vectors (faiss IVF-SQfp16; about √n cells, `PROBES` of them searched).
A large collection's index is built when the collection is written (`write_index`), a small one's on first use
(milliseconds); the store deletes the old index whenever the collection is written again."""
from __future__ import annotations

import threading
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curation.errors import NotFound
from curation.runs.store import embedding_matrix

EXACT_BELOW = 50_000  # clips: an exact search over fewer answers within milliseconds
PROBES = 32
CHUNK = 50_000  # rows normalised and added at a time (a 1,000,000 × 768 float32 copy would be 3 GB)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def build_index(collection: pa.Table):
    """A faiss index of the collection's unit embeddings in row order (inner product = cosine similarity)."""
    import faiss

    n, d = collection.num_rows, collection["embedding"].type.list_size
    if n < EXACT_BELOW:
        index = faiss.IndexFlatIP(d)
    else:
        cells = int(np.sqrt(n))
        index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(d), d, cells, faiss.ScalarQuantizer.QT_fp16,
                                              faiss.METRIC_INNER_PRODUCT)
        sample = np.sort(np.random.default_rng(0).choice(n, min(n, 40 * cells), replace=False))
        index.train(_unit(embedding_matrix(collection.take(sample))))
    for start in range(0, n, CHUNK):
        index.add(_unit(embedding_matrix(collection.slice(start, CHUNK))))
    if n >= EXACT_BELOW:
        index.make_direct_map()  # a clip's own vector, by its row
        index.nprobe = min(PROBES, index.nlist)
    return index


class VectorIndex:
    """A collection's index and its clip ids (row order)."""

    def __init__(self, index, ids: list[str]):
        self.index, self.ids = index, ids
        self.row = {c: i for i, c in enumerate(ids)}

    def nearest(self, clip_id: str, k: int, keep=None) -> list[tuple[str, float]]:
        """The `k` clips nearest `clip_id` (itself left out), nearest first, with their cosine distances; `keep`:
        given candidate ids, the set of those that may be answered (asked again with more candidates until k are
        kept or none are left)."""
        if clip_id not in self.row:
            raise NotFound(f"clip {clip_id} has no embedding in this collection", "pick a clip of the revision shown")
        vector = self.index.reconstruct(self.row[clip_id])[None]
        want = k + 1
        while True:
            scores, rows = self.index.search(vector, min(want, len(self.ids)))
            found = [(self.ids[r], round(float(1.0 - s), 5)) for s, r in zip(scores[0], rows[0])
                     if r >= 0 and self.ids[r] != clip_id]
            kept = keep({c for c, _ in found}) if keep else None
            found = [(c, d) for c, d in found if kept is None or c in kept]
            if len(found) >= k or want >= len(self.ids):
                return found[:k]
            want *= 4


_loaded: dict[str, tuple[tuple, VectorIndex]] = {}
_lock = threading.Lock()


def collection_index(storage, key: str) -> VectorIndex:
    """The index of the collection stored at `key` (a run store's storage: a folder or a bucket), read from
    beside it (built and kept there the first time), and kept in memory until the collection changes."""
    import faiss

    with _lock:
        stamp, where = storage.version(key), storage.uri(key)
        if where in _loaded and _loaded[where][0] == stamp:
            return _loaded[where][1]
        collection = pq.read_table(pa.BufferReader(storage.read_bytes(key)), columns=["clip_id", "embedding"])
        try:
            data = storage.read_bytes(index_key(key))
            index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except FileNotFoundError:
            index = write_index(storage, key, collection)
        _loaded.clear()  # one collection's index at a time: a large one takes gigabytes
        _loaded[where] = (stamp, VectorIndex(index, collection["clip_id"].to_pylist()))
        return _loaded[where][1]


def write_index(storage, key: str, collection: pa.Table):
    """Build the index of `collection` (the one stored at `key`) and keep it beside it."""
    import faiss

    index = build_index(collection)
    storage.write_bytes(index_key(key), faiss.serialize_index(index).tobytes())
    return index


def index_key(key: str) -> str:
    return key.removesuffix(".parquet") + ".faiss"
