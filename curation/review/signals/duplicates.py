"""Near-duplicates and leaks from descriptors: videos that are each other's nearest neighbour and much closer to
each other than to any other video, by the closest pair of their frames' descriptors or by their mean
embeddings; and groups of videos whose descriptors coincide. Each video keeps its `NEIGHBOURS` nearest videos
(`VideoNeighbours`), never an n × n matrix above `neighbours.EXACT_UP_TO` descriptors."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curation.review.signals import neighbours
from curation.review.signals.neighbours import distances, knn, smallest
from curation.review.suggestion import Suggestion

NEIGHBOURS = 8  # nearest videos kept per video: the nearest and the next-nearest are what the pairs need
FRAME_NEIGHBOURS = 32  # nearest frames asked per frame by the index: a video's own frames fill some of them
SPLIT_ORDER = {"train": 0, "val": 1, "test": 2}  # which copy of a duplicate stays: the one furthest from training


@dataclass
class VideoNeighbours:
    """For each of `videos`: the indices of its nearest other videos, nearest first, and their distances
    ((n, NEIGHBOURS) each; -1 and inf where there are fewer)."""
    videos: list[str]
    index: np.ndarray
    distance: np.ndarray


def unit_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows centred on their mean and scaled to unit length, so that cosine compares what differs between
    them; and which rows were the mean itself (nothing left to compare: identical to each other). Float32 stays
    float32 (half the memory and time of the frames pass); `identical_within` knows its rounding."""
    x = np.asarray(x, dtype=np.float32 if np.asarray(x).dtype == np.float32 else np.float64)
    x = x - x.mean(axis=0) if len(x) else x.copy()  # the one copy: the rest is done in place
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))  # no n × d temporary (1.2 M frame rows: 4.5 s → 0.5 s)
    flat = norms <= 1e-6 * max(float(norms.max(initial=0.0)), 1e-12)
    x /= np.where(flat, 1.0, norms)[:, None]
    x[flat] = 0.0
    return x, flat


def cosine_distances(a: np.ndarray, a_flat: np.ndarray, b: np.ndarray, b_flat: np.ndarray) -> np.ndarray:
    """Cosine distances between unit rows (neighbours.distances); rows that were the mean are at 0 from each
    other and at 1 from everything else."""
    dist = distances(a, b, "cosine")
    dist[np.ix_(a_flat, b_flat)] = 0.0
    return dist


def _with_flat_axis(x: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """Unit rows with one more axis on which only the rows that were the mean are 1: their cosine distance is
    then 0 to each other and 1 to the rest, as `cosine_distances` has it, for an index that knows only dot
    products. Without such rows (the usual case), `x` itself."""
    return np.hstack([x, flat[:, None].astype(x.dtype)]) if flat.any() else x


def identical_within(dtype) -> float:
    """Distances at or below this are copies, not neighbours: the rounding noise of identical descriptors in
    `dtype` (measured up to 6e-7 in float32), with room to spare; a re-encoded copy is 1e-3 or more away."""
    return 64 * float(np.finfo(dtype).eps)


def _nearest_of_matrix(dist: np.ndarray, videos: list[str], m: int = NEIGHBOURS) -> VideoNeighbours:
    """VideoNeighbours from a full video × video matrix (inf on the diagonal): the reference passes."""
    k = min(m, max(len(videos) - 1, 0))
    index, distance = smallest(dist, k)
    return VideoNeighbours(videos, np.pad(index, ((0, 0), (0, m - k)), constant_values=-1),
                           np.pad(distance, ((0, 0), (0, m - k)), constant_values=np.inf))


def exact_frame_neighbours(x: np.ndarray, flat: np.ndarray, owner: np.ndarray, videos: list[str],
                           m: int = NEIGHBOURS) -> VideoNeighbours:
    """Every frame against every frame: a video's distance to another is their closest pair of frames."""
    n = len(videos)
    dist = np.full((n, n), np.inf, dtype=x.dtype)  # the dtype of the computation: identical_within reads it
    starts = np.searchsorted(owner, np.arange(n))
    for i in range(n):
        mine = owner == i  # best match of each frame against any frame of video i
        d = cosine_distances(x[mine], flat[mine], x, flat).min(axis=0)
        dist[i] = np.minimum.reduceat(d, starts)
    dist = np.minimum(dist, dist.T)
    np.fill_diagonal(dist, np.inf)
    return _nearest_of_matrix(dist, videos, m)


def indexed_frame_neighbours(x: np.ndarray, flat: np.ndarray, owner: np.ndarray, videos: list[str],
                             m: int = NEIGHBOURS) -> VideoNeighbours:
    """As `exact_frame_neighbours`, from each frame's `FRAME_NEIGHBOURS` nearest frames (an index): a video's
    distance to another is the closest pair of their frames found from either side."""
    idx, dist = knn(_with_flat_axis(x, flat), FRAME_NEIGHBOURS, exact=False)
    owner = owner.astype(np.int32)
    a, b = np.repeat(owner, idx.shape[1]), np.where(idx >= 0, owner[np.maximum(idx, 0)], -1).ravel()
    d = dist.ravel()
    del idx, dist
    keep = (b >= 0) & (a != b)  # another video's frame
    a, b, d = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep]), d[keep]
    key, d = _closest(a.astype(np.int64) * len(videos) + b, d)  # each pair once, by its closest frames
    a, b = (key // len(videos)).astype(np.int32), (key % len(videos)).astype(np.int32)
    return _nearest_of_edges(np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([d, d]), videos, m)


def _closest(key: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each key once (sorted), with its smallest distance: one sort of the keys and a minimum per run of equal
    keys (6× faster than sorting on both at 8 M edges)."""
    order = np.argsort(key)
    key, d = key[order], d[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, np.int64)
    return key[first], (np.minimum.reduceat(d, first) if len(first) else d[:0])


def _nearest_of_edges(src: np.ndarray, dst: np.ndarray, d: np.ndarray, videos: list[str],
                      m: int) -> VideoNeighbours:
    """VideoNeighbours from (video, video, distance) edges, one per ordered pair: the m closest of each video."""
    n = len(videos)
    order = np.lexsort((d, src))  # by video, nearest first
    src, dst, d = src[order], dst[order], d[order]
    rank = np.arange(len(src)) - np.searchsorted(src, src)
    keep = rank < m
    index = np.full((n, m), -1, dtype=np.int64)
    distance = np.full((n, m), np.inf, dtype=d.dtype if len(d) else np.float32)
    index[src[keep], rank[keep]] = dst[keep]
    distance[src[keep], rank[keep]] = d[keep]
    return VideoNeighbours(videos, index, distance)


def frame_neighbours(x: np.ndarray, flat: np.ndarray, owner: np.ndarray, videos: list[str],
                     exact: bool | None = None) -> VideoNeighbours:
    """Each video's nearest videos by the closest pair of their frames (unit rows from `unit_rows`, `owner`:
    each frame's video index, sorted): every pair up to `neighbours.EXACT_UP_TO` frames, an index above."""
    exact = len(x) <= neighbours.EXACT_UP_TO if exact is None else exact
    return (exact_frame_neighbours if exact else indexed_frame_neighbours)(x, flat, owner, videos)


def vector_neighbours(vectors: np.ndarray, videos: list[str], exact: bool | None = None) -> VideoNeighbours:
    """Each video's nearest videos by the cosine distance of one vector a video (centred, as `unit_rows`)."""
    x, flat = unit_rows(vectors)
    index, distance = knn(_with_flat_axis(x, flat), NEIGHBOURS, exact=exact)
    return VideoNeighbours(videos, index, distance)


def identical_groups(near: VideoNeighbours) -> list[list[str]]:
    """Groups of two or more videos whose descriptors coincide (linked by distances within rounding)."""
    group = list(range(len(near.videos)))

    def root(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for i, k in zip(*np.nonzero(near.distance <= identical_within(near.distance.dtype))):
        group[root(i)] = root(int(near.index[i, k]))
    members: dict[int, list[str]] = {}
    for i, video in enumerate(near.videos):
        members.setdefault(root(i), []).append(video)
    return [sorted(g) for g in members.values() if len(g) > 1]


def distinct_pairs(near: VideoNeighbours, ratio: float) -> list[tuple[str, str, float, float]]:
    """Pairs of videos that are each other's nearest neighbour and far closer to each other than to anything
    else (nearest / second-nearest distance below `ratio` for both): (a, b, distance, second distance). A video
    whose second-nearest is as close as its nearest (a group of identical ones) is no pair."""
    videos = near.videos
    if len(videos) < 3:
        return []
    nearest, first, second = near.index[:, 0], near.distance[:, 0], near.distance[:, 1]
    return [(videos[i], videos[j], float(first[i]), float(min(second[i], second[j])))
            for i, j in enumerate(nearest)
            if i < j and nearest[j] == i and first[i] < ratio * min(second[i], second[j])]


def duplicate_pairs(near: VideoNeighbours, ratio: float, signal: str, split_of: dict[str, str],
                    notes: list[str]) -> list[tuple[str, str, float, float, str]]:
    """(a, b, distance, next-nearest distance, signal) for near-duplicate pairs and for every copy in a group of
    identical videos (paired with the copy that stays; next-nearest 0). When every video is identical, nothing
    tells copies from the rest: a note says so and no pair is returned."""
    videos = near.videos
    groups = identical_groups(near)
    if len(videos) >= 2 and len(groups) == 1 and len(groups[0]) == len(videos):
        notes.append(f"all {len(videos)} videos coincide by {signal} (a run that learned nothing, or copies of one "
                     f"video): no near-duplicates judged by {signal}")
        return []
    pairs = [(a, b, d, second, signal) for a, b, d, second in distinct_pairs(near, ratio)]
    paired = {frozenset(p[:2]) for p in pairs}
    for group in groups:
        keep = min(group, key=lambda v: (-SPLIT_ORDER.get(split_of.get(v), 0), v))
        pairs += [(keep, copy, 0.0, 0.0, signal) for copy in group
                  if copy != keep and frozenset((keep, copy)) not in paired]
    return pairs


def embedding_pairs(embeddings: dict[str, np.ndarray], ratio: float, split_of: dict[str, str],
                    notes: list[str], exact: bool | None = None) -> list[tuple[str, str, float, float, str]]:
    """`duplicate_pairs` by the videos' mean embeddings; videos whose embedding is not finite are left out,
    with a note."""
    finite = sorted(v for v, x in embeddings.items() if np.isfinite(x).all())
    unusable = sorted(set(embeddings) - set(finite))
    if unusable:
        notes.append(f"{len(unusable)} video(s) have embeddings that are not finite (did the run diverge?), e.g. "
                     f"{unusable[0]}: left out of the near-duplicates by embeddings")
    vectors = np.stack([embeddings[v] for v in finite]) if finite else np.zeros((0, 1))
    return duplicate_pairs(vector_neighbours(vectors, finite, exact), ratio, "embeddings", split_of, notes)


def pair_suggestions(pairs: list[tuple[str, str, float, float, str]], split_of: dict[str, str]) -> list[Suggestion]:
    """A deletion per pair (the first signal to find a pair names it): within a split, of the later-named video;
    across splits (a leak), of the side that is trained on — the test (or val) copy stays. Test is never edited."""
    found = {}
    for a, b, d, typical, signal in pairs:
        found.setdefault(frozenset((a, b)), (a, b, d, typical, signal))
    out = []
    for a, b, d, typical, signal in found.values():
        splits = {split_of[a], split_of[b]}
        if splits == {"test"}:
            continue
        leak = len(splits) > 1
        victim = min((a, b), key=lambda v: SPLIT_ORDER.get(split_of[v], 0)) if leak else max(a, b)
        other = b if victim == a else a
        kind = f"leak: near-duplicate of {split_of[other]} video {other}" if leak else f"near-duplicate of {other}"
        closeness = (f"identical by {signal}" if typical == 0 else
                     f"{signal} distance {d:.3f}, next nearest {typical:.3f}")
        plain = (f"This {split_of[victim]} video shares near-identical frames with {split_of[other]} video {other}: "
                 f"the {split_of[other]} score would reward remembering it." if leak else
                 f"This video and {other} share near-identical frames: training on both counts the same footage "
                 "twice.")
        out.append(Suggestion(victim, "video", "delete", "", "leak" if leak else "near-duplicate",
                              f"{kind} ({closeness})", round(1 - d / typical, 4) if typical > 0 else 1.0,
                              partner=other, plain=plain))
    return out
