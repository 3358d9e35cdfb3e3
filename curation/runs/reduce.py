"""2-D maps of embeddings: PCA to 50 dims, UMAP on up to `max_fit` landmark points, and every other point
placed at the distance-weighted mean of its nearest landmarks. Plain UMAP on 20,000 × 768 took ~54 s here;
landmarks keep 100,000 points within a minute (bench/reduce.py)."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors


def reduce_2d(embeddings: np.ndarray, seed: int = 0, max_fit: int = 5000, neighbors: int = 15) -> np.ndarray:
    x = np.asarray(embeddings, dtype=np.float32)
    n = len(x)
    if n == 0:
        return np.zeros((0, 2), np.float32)
    dims = min(50, x.shape[1], n)
    x = PCA(n_components=dims, random_state=seed).fit_transform(x) if dims >= 2 else np.pad(x, ((0, 0), (0, 1)))
    if n < 2 * neighbors:  # too few points for a neighbour graph: the first two principal components
        return np.ascontiguousarray(x[:, :2], dtype=np.float32)
    import umap  # imported late: numba compiles it at import (~15 s)

    rng = np.random.default_rng(seed)
    landmarks = np.sort(rng.choice(n, max_fit, replace=False)) if n > max_fit else np.arange(n)
    # The exact neighbour graph from scikit-learn, handed to UMAP: its own search is numba code compiled in
    # parallel mode on first use, ~10 s of every process's first map.
    # Each point is its own first neighbour, as in UMAP's graph.
    dist, idx = NearestNeighbors(n_neighbors=neighbors - 1, algorithm="brute").fit(x[landmarks]).kneighbors()
    self_first = (np.c_[np.arange(len(landmarks)), idx], np.c_[np.zeros(len(landmarks)), dist].astype(np.float32))
    mapper = umap.UMAP(n_components=2, n_neighbors=neighbors, min_dist=0.1, random_state=seed, n_jobs=1,
                       precomputed_knn=(*self_first, None))
    out = np.zeros((n, 2), np.float32)
    with warnings.catch_warnings():  # "transform will be unavailable": the rest are placed below, not by UMAP
        warnings.filterwarnings("ignore", message=".*knn_search_index.*")
        out[landmarks] = mapper.fit_transform(x[landmarks])
    rest = np.setdiff1d(np.arange(n), landmarks)
    if len(rest):
        dist, idx = NearestNeighbors(n_neighbors=5, algorithm="brute").fit(x[landmarks]).kneighbors(x[rest])
        w = 1.0 / (dist + 1e-6)
        out[rest] = (out[landmarks][idx] * w[..., None]).sum(1) / w.sum(1, keepdims=True)
    return out
