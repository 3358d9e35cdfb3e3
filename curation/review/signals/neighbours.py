"""Each row's nearest other rows, without an n × n matrix above a size: exact below `EXACT_UP_TO` rows (every
distance, in blocks: the reference), through an approximate nearest-neighbour index above it. Distances are
cosine distances between unit rows (1 - dot) or Euclidean ones."""
from __future__ import annotations

import numpy as np

EXACT_UP_TO = 20_000  # rows; an index is faster from about here (bench/review_scale.py)
BLOCK = 2048  # rows per block of the exact pass: a block × n distance matrix at a time
INDEX_DIMS = 32  # the index compares rows on their first principal axes (candidates; distances are exact): at
# 1.2 M frame rows 32 axes find more of the true 10 nearest among the candidates than 64 (0.92 against 0.70) in
# three quarters of the time (bench/README.md, review_scale)
HNSW_LINKS, HNSW_BUILD, HNSW_SEARCH = 16, 40, 48  # the graph's links per row, and its candidate lists
TRAIN_ROWS = 100_000  # rows the index's k-means and projection are fitted on
SEARCH_ROWS = 8192  # rows searched at a time: their candidates' full rows are held while measured


def distances(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """Every row of `a` against every row of `b`: 1 - dot between unit rows (cosine), or Euclidean."""
    if metric == "cosine":
        return np.maximum(1.0 - a @ b.T, 0.0)  # clipped: rounding makes identical rows slightly negative
    squared = (a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None]
    return np.sqrt(np.maximum(squared, 0.0))


def smallest(d: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a distance matrix (inf: not a candidate), the columns of its k smallest entries, smallest
    first, and those entries; -1 and inf where a row has fewer than k columns."""
    found = min(k, d.shape[1])
    part = np.argpartition(d, found - 1, axis=1)[:, :found] if found else np.zeros((len(d), 0), np.int64)
    part = np.take_along_axis(part, np.take_along_axis(d, part, axis=1).argsort(axis=1, kind="stable"), axis=1)
    idx = np.pad(part, ((0, 0), (0, k - found)), constant_values=-1)
    dist = np.pad(np.take_along_axis(d, part, axis=1), ((0, 0), (0, k - found)), constant_values=np.inf)
    return idx, dist


def exact_knn(x: np.ndarray, k: int, metric: str = "cosine") -> tuple[np.ndarray, np.ndarray]:
    """(indices, distances), each (n, k), of every row's k nearest other rows, nearest first; -1 and inf where
    there are fewer than k others."""
    n = len(x)
    k_found = min(k, max(n - 1, 0))
    idx = np.full((n, k), -1, dtype=np.int64)
    dist = np.full((n, k), np.inf, dtype=x.dtype)
    for start in range(0, n, BLOCK):
        d = distances(x[start:start + BLOCK], x, metric)
        rows = np.arange(len(d))
        d[rows, start + rows] = np.inf  # not its own neighbour
        idx[start:start + len(d), :k_found], dist[start:start + len(d), :k_found] = smallest(d, k_found)
    return idx, dist


def approximate_knn(x: np.ndarray, k: int, metric: str = "cosine") -> tuple[np.ndarray, np.ndarray]:
    """As `exact_knn`, through a graph index (faiss HNSW over the rows projected on their first `INDEX_DIMS`
    principal axes, fitted on a seeded sample), the candidates' distances then computed exactly on the full rows.
    Memory O(n · d)."""
    import faiss

    x = np.ascontiguousarray(x, dtype=np.float32)
    n, d = x.shape
    sample = x[np.sort(np.random.default_rng(0).choice(n, min(n, TRAIN_ROWS), replace=False))]
    dims = min(d, INDEX_DIMS, len(sample))  # a projection has no more axes than rows it was fitted on
    if dims < d:  # the index compares projections: fast; the distances below are the full rows'
        pca = faiss.PCAMatrix(d, dims)
        pca.train(sample)
        project = pca.apply
    else:
        project = np.ascontiguousarray
    index = faiss.IndexHNSWFlat(dims, HNSW_LINKS)
    index.hnsw.efConstruction = HNSW_BUILD
    for start in range(0, n, SEARCH_ROWS * 8):
        index.add(project(x[start:start + SEARCH_ROWS * 8]))
    want = min(n, k + 1 + k // 2)  # a few spare candidates: their order may change once measured exactly
    index.hnsw.efSearch = max(HNSW_SEARCH, want)
    idx = np.full((n, k), -1, dtype=np.int64)
    dist = np.full((n, k), np.inf, dtype=np.float32)
    for start in range(0, n, SEARCH_ROWS):
        rows = x[start:start + SEARCH_ROWS]
        _, found = index.search(project(rows), want)
        mine = found == np.arange(start, start + len(rows))[:, None]
        found = np.where(mine | (found < 0), -1, found)
        d_exact = _paired_distances(rows, x, found, metric)
        order = np.argsort(d_exact, axis=1, kind="stable")[:, :k]
        take = min(k, order.shape[1])
        idx[start:start + len(rows), :take] = np.take_along_axis(found, order, axis=1)[:, :take]
        dist[start:start + len(rows), :take] = np.take_along_axis(d_exact, order, axis=1)[:, :take]
    idx[~np.isfinite(dist)] = -1
    return idx, dist.astype(x.dtype)


def _paired_distances(rows: np.ndarray, x: np.ndarray, found: np.ndarray, metric: str) -> np.ndarray:
    """Each row's distance to each of its candidates (`found`, -1: none, at inf)."""
    other = x[np.maximum(found, 0)]  # (r, c, d)
    if metric == "cosine":
        d = np.maximum(1.0 - np.einsum("rd,rcd->rc", rows, other), 0.0)
    else:
        d = np.sqrt(np.maximum(((rows[:, None] - other) ** 2).sum(-1), 0.0))
    return np.where(found >= 0, d, np.inf).astype(np.float32)


def knn(x: np.ndarray, k: int, metric: str = "cosine", exact: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`exact_knn` up to `EXACT_UP_TO` rows, `approximate_knn` above (or as `exact` says)."""
    exact = len(x) <= EXACT_UP_TO if exact is None else exact
    return exact_knn(x, k, metric) if exact else approximate_knn(x, k, metric)
