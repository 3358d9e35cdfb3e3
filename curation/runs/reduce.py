"""2-D maps of embeddings: PCA to 50 dims, UMAP on up to `max_fit` landmark points, and every other point
placed at the distance-weighted mean of its nearest landmarks. Plain UMAP on 20,000 × 768 took ~54 s here;
landmarks keep 100,000 points within a minute (bench/reduce.py)."""
from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors


def fuzzy_graph(dist: np.ndarray, idx: np.ndarray, n_iter: int = 64) -> sparse.coo_matrix:
    """UMAP's fuzzy simplicial set of a k-nearest-neighbour graph whose first column is each point itself
    (McInnes, Healy & Melville 2018, section 3): per point, rho is the distance to its nearest other point and
    sigma (binary search) makes the memberships exp(-(d - rho) / sigma) of its neighbours sum to log2(k); the
    graph is their fuzzy union A + Aᵀ − A∘Aᵀ. Written in numpy because umap-learn's own is numba code compiled
    in parallel mode on its first use, ~7 s of every process's first map; the layout is umap-learn's."""
    n, k = dist.shape
    d = dist[:, 1:].astype(np.float64)
    nearest = np.where(d > 0, d, np.inf).min(axis=1)
    rho = np.where(np.isfinite(nearest), nearest, 0.0)
    excess = d - rho[:, None]
    target = np.log2(k)
    lo, hi, sigma = np.zeros(n), np.full(n, np.inf), np.ones(n)
    for _ in range(n_iter):
        too_wide = np.where(excess > 0, np.exp(-excess / sigma[:, None]), 1.0).sum(axis=1) > target
        hi, lo = np.where(too_wide, sigma, hi), np.where(too_wide, lo, sigma)
        sigma = np.where(np.isinf(hi), sigma * 2, (lo + hi) / 2)
    sigma = np.maximum(sigma, 1e-3 * np.where(rho > 0, d.mean(axis=1), d.mean()))  # umap-learn's floor
    weights = np.where(excess > 0, np.exp(-excess / sigma[:, None]), 1.0)
    a = sparse.csr_matrix((weights.ravel(), (np.repeat(np.arange(n), k - 1), idx[:, 1:].ravel())), shape=(n, n))
    return (a + a.T - a.multiply(a.T)).tocoo()


# umap-learn's own count for more than 10,000 points (500 below): half the layout time (3.9 → 1.8 s on 1,840
# clips, 2 cores) for a map that is only looked at
EPOCHS = 200


def reduce_2d(embeddings: np.ndarray, seed: int = 0, max_fit: int = 5000, neighbors: int = 15) -> np.ndarray:
    x = np.asarray(embeddings, dtype=np.float32)
    n = len(x)
    if n == 0:
        return np.zeros((0, 2), np.float32)
    dims = min(50, x.shape[1], n)
    x = PCA(n_components=dims, random_state=seed).fit_transform(x) if dims >= 2 else np.pad(x, ((0, 0), (0, 1)))
    if n < 2 * neighbors:  # too few points for a neighbour graph: the first two principal components
        return np.ascontiguousarray(x[:, :2], dtype=np.float32)
    from umap.umap_ import find_ab_params, simplicial_set_embedding  # late: numba compiles at import (~2 s)

    rng = np.random.default_rng(seed)
    landmarks = np.sort(rng.choice(n, max_fit, replace=False)) if n > max_fit else np.arange(n)
    dist, idx = NearestNeighbors(n_neighbors=neighbors - 1, algorithm="brute").fit(x[landmarks]).kneighbors()
    graph = fuzzy_graph(np.c_[np.zeros(len(landmarks)), dist], np.c_[np.arange(len(landmarks)), idx])
    a, b = find_ab_params(spread=1.0, min_dist=0.1)
    out = np.zeros((n, 2), np.float32)
    out[landmarks], _ = simplicial_set_embedding(
        data=x[landmarks], graph=graph, n_components=2, initial_alpha=1.0, a=a, b=b, gamma=1.0,
        negative_sample_rate=5, n_epochs=EPOCHS, init="spectral", random_state=np.random.RandomState(seed),
        metric="euclidean", metric_kwds={}, densmap=False, densmap_kwds={}, output_dens=False)
    rest = np.setdiff1d(np.arange(n), landmarks)
    if len(rest):
        dist, idx = NearestNeighbors(n_neighbors=5, algorithm="brute").fit(x[landmarks]).kneighbors(x[rest])
        w = 1.0 / (dist + 1e-6)
        out[rest] = (out[landmarks][idx] * w[..., None]).sum(1) / w.sum(1, keepdims=True)
    return out
