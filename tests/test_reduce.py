import numpy as np
import pytest

from curation.runs.reduce import fuzzy_graph, reduce_2d


def test_the_map_keeps_clusters_apart_and_places_points_beyond_the_landmarks():
    """Three clusters in 64-d: every point's nearest neighbour on the 2-D map is of its own cluster, with UMAP
    fitted on every point and on 60 landmarks (the rest placed from their nearest landmarks)."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 40)
    x = rng.normal(0, 8, (3, 64))[labels] + rng.normal(0, 1, (len(labels), 64))
    for max_fit in (5000, 60):
        xy = reduce_2d(x, max_fit=max_fit)
        assert xy.shape == (len(x), 2) and np.isfinite(xy).all()
        d = np.linalg.norm(xy[:, None] - xy[None], axis=-1) + np.eye(len(xy)) * 1e9
        assert (labels[d.argmin(1)] == labels).mean() >= 0.98, max_fit
    assert reduce_2d(x[:10]).shape == (10, 2)  # too few for a neighbour graph: principal components


@pytest.mark.slow  # compiles umap-learn's own fuzzy set (numba, parallel mode) to check ours against it
def test_the_fuzzy_graph_is_umap_learns():
    from sklearn.neighbors import NearestNeighbors
    from umap.umap_ import fuzzy_simplicial_set

    x = np.random.default_rng(1).normal(size=(200, 16)).astype(np.float32)
    x[1] = x[0]  # a duplicate: a zero distance to another point
    dist, idx = NearestNeighbors(n_neighbors=14, algorithm="brute").fit(x).kneighbors()
    dist, idx = np.c_[np.zeros(len(x)), dist], np.c_[np.arange(len(x)), idx]
    ours = fuzzy_graph(dist, idx).tocsr()
    theirs = fuzzy_simplicial_set(x, 15, 0, "euclidean", knn_indices=idx, knn_dists=dist.astype(np.float32))[0]
    assert abs(ours - theirs.tocsr()).max() < 1e-4
