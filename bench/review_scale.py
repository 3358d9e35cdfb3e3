"""Review at the size of real datasets: the near-duplicate, leak and outlier passes over N videos' descriptors —
12 frame descriptors a video (16×16 grey thumbnails, as `review.evidence.FrameDescriptors` makes them), C clip
embeddings a video, one look a video — with planted near-duplicates and leaks, and no training.

The world, in descriptor space: videos of one place look alike (a place vector shared by about 20 videos, each
video's own scene added, then a random walk over its frames: the hard negatives of the ratio test). 1% of the
videos are copies of another video: noisy copies (every frame plus noise), crops (every frame scaled per axis, a
fixed distortion, plus noise) and time shifts (the original's walk sampled one frame later, plus noise); a third
of the copies sit in the test split while their original does not (leaks). 0.1% of the videos have a look far
from every other (outliers).

Times each pass, its peak RSS (each size in its own process), and recall and precision of the planted pairs; up to
`--exact-up-to` videos also the exact pass (every distance: the reference) and whether both propose the same
edits. Sizes after the first print their time as a ratio to the first's.

Up to `--suggest-up-to` videos also the whole `suggest` pass over a workspace of that world (bench/scale_workspace.py:
the tables, the kept frame descriptors and a completed run with dynamics and a collection pass, as ingest and
training leave them): built in one process, then timed with its peak RSS in another, with recall and precision of
the planted pairs and of the planted label issues among its proposals. The last line, for the last size:
`review_scale videos=N seconds=S peak_gb=G recall=R precision=P` (S, G, R, P: the three passes over arrays).

    uv run python bench/review_scale.py --videos 10000,100000 [--clips-per-video 10] [--suggest-up-to 100000]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from curation.review.signals.duplicates import (duplicate_pairs, embedding_pairs, frame_neighbours, pair_suggestions,
                                                unit_rows)
from curation.review.signals.outliers import look_outliers
from curation.review.suggest import suggest
from curation.workspace import Workspace

FRAMES, D_FRAME, D_EMBEDDING, D_LOOK = 12, 256, 64, 192
COPIES, OUTLIERS, CHUNK = 0.01, 0.001, 10_000


def world(n: int, clips: int, seed: int = 0):
    """Frame descriptors (n·12, 256), owner, video ids, splits, per-video mean embeddings of `clips` clips, looks,
    and the planted pairs (frozensets of video ids) and outliers."""
    rng = np.random.default_rng(seed)
    places = rng.normal(size=(max(1, n // 20), D_FRAME)).astype(np.float32)
    place = rng.integers(len(places), size=n)
    videos = [f"v{i:07d}" for i in range(n)]
    split = rng.choice(np.array(["train", "val", "test"]), size=n, p=[0.8, 0.1, 0.1])
    copy_of = {}  # copy → original
    for c in rng.choice(n, size=int(COPIES * n), replace=False):
        original = int(rng.integers(n))
        if original not in copy_of and original not in copy_of.values() and original != c and c not in copy_of.values():
            copy_of[int(c)] = original
    for k, (c, o) in enumerate(copy_of.items()):  # a third are leaks: copy in test, original trained on
        if split[o] == "test":
            split[o] = "train"
        split[c] = "test" if k % 3 == 0 else split[o] if split[o] != "test" else "train"
    frames = np.empty((n, FRAMES, D_FRAME), np.float32)
    walks = {}
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        scene = 0.8 * places[place[start:start + m]] + 0.6 * rng.normal(size=(m, D_FRAME)).astype(np.float32)
        walk = np.cumsum(0.25 * rng.normal(size=(m, FRAMES + 1, D_FRAME)).astype(np.float32), axis=1)
        frames[start:start + m] = scene[:, None] + walk[:, :FRAMES]
        for o in (o for o in copy_of.values() if start <= o < start + m):
            walks[o] = scene[o - start] + walk[o - start]  # the time-shifted copy reads one frame later
    for k, (c, o) in enumerate(copy_of.items()):
        noise = 0.05 * rng.normal(size=(FRAMES, D_FRAME)).astype(np.float32)
        if k % 3 == 0:
            frames[c] = frames[o] + noise
        elif k % 3 == 1:
            frames[c] = frames[o] * (1 + 0.15 * rng.normal(size=D_FRAME).astype(np.float32)) + noise
        else:
            frames[c] = walks[o][1:] + noise
    project = rng.normal(size=(D_FRAME, D_EMBEDDING)).astype(np.float32) / np.sqrt(D_FRAME)
    embeddings = frames.mean(axis=1) @ project
    embeddings += rng.normal(size=embeddings.shape).astype(np.float32) * 0.3 / np.sqrt(clips)  # mean of C clips
    for c, o in copy_of.items():
        embeddings[c] = embeddings[o] + 0.02 * rng.normal(size=D_EMBEDDING).astype(np.float32)
    looks = 128 + 20 * rng.normal(size=(n, D_LOOK)).astype(np.float32)
    odd = rng.choice(n, size=max(1, int(OUTLIERS * n)), replace=False)
    looks[odd] += 400 * rng.choice([-1, 1], size=(len(odd), D_LOOK))  # each off in its own direction
    pairs = {frozenset((videos[c], videos[o])) for c, o in copy_of.items()}
    return (frames.reshape(n * FRAMES, D_FRAME), np.repeat(np.arange(n), FRAMES), videos,
            dict(zip(videos, split.tolist())), dict(zip(videos, embeddings)), looks, pairs,
            {videos[i] for i in odd})


def passes(frames, owner, videos, split_of, embeddings, looks, exact: bool | None) -> tuple[dict, list]:
    """The three passes as suggest runs them; seconds of each and the suggestions."""
    seconds, notes = {}, []
    start = time.perf_counter()
    x, flat = unit_rows(frames)
    by_frames = duplicate_pairs(frame_neighbours(x, flat, owner, videos, exact=exact), 0.4, "frames", split_of, notes)
    del x, flat
    seconds["frames"] = time.perf_counter() - start
    start = time.perf_counter()
    by_embeddings = embedding_pairs(embeddings, 0.15, split_of, notes, exact=exact)
    seconds["embeddings"] = time.perf_counter() - start
    start = time.perf_counter()
    tests = {v for v, s in split_of.items() if s == "test"}
    odd = look_outliers(looks, videos, skip=tests, exact=exact)
    seconds["outliers"] = time.perf_counter() - start
    return seconds, pair_suggestions(by_frames + by_embeddings, split_of) + odd


def one_size(n: int, clips: int, exact_up_to: int) -> dict:
    start = time.perf_counter()
    frames, owner, videos, split_of, embeddings, looks, planted, odd = world(n, clips)
    made = time.perf_counter() - start
    seconds, found = passes(frames, owner, videos, split_of, embeddings, looks, exact=None)
    pairs = {frozenset((s.id, s.partner)) for s in found if s.signal in ("near-duplicate", "leak")}
    out = {"videos": n, "world_s": round(made, 1), **{k: round(v, 1) for k, v in seconds.items()},
           "seconds": round(sum(seconds.values()), 1),
           "recall": round(len(pairs & planted) / max(1, len(planted)), 4),
           "precision": round(len(pairs & planted) / max(1, len(pairs)), 4),
           "outlier_recall": round(len({s.id for s in found if s.signal == "outlier"} & odd) / max(1, len(odd - {
               v for v, s in split_of.items() if s == "test"})), 4)}
    out["peak_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)
    if n <= exact_up_to:
        exact_seconds, reference = passes(frames, owner, videos, split_of, embeddings, looks, exact=True)
        out["exact_seconds"] = round(sum(exact_seconds.values()), 1)
        edit = lambda s: (s.id, s.action, s.value, s.signal, s.partner)  # noqa: E731  (reasons quote distances)
        out["same_as_exact"] = sorted(map(edit, found)) == sorted(map(edit, reference))
    return out


def build_workspace(n: int, clips: int, folder: Path) -> dict:
    """The world of `n` videos as a workspace in `folder`; what was planted goes to folder/planted.json."""
    from scale_workspace import build

    start = time.perf_counter()
    made = world(n, clips)
    _, run, issues = build(folder, made, clips)
    planted = {"run": run, "pairs": [sorted(p) for p in made[6]], "label_issues": sorted(issues)}
    (folder / "planted.json").write_text(json.dumps(planted))
    return {"build_s": round(time.perf_counter() - start, 1)}


def time_suggest(folder: Path) -> dict:
    """The whole suggest pass over the workspace in `folder`: seconds, peak RSS of this process, and how its
    pairs and label issues match what was planted."""
    planted = json.loads((folder / "planted.json").read_text())
    ws = Workspace.open(folder)
    start = time.perf_counter()
    found = suggest(ws, planted["run"])
    seconds = time.perf_counter() - start
    pairs = {frozenset((s.id, s.partner)) for s in found if s.signal in ("near-duplicate", "leak")}
    pairs_planted = {frozenset(p) for p in planted["pairs"]}
    issues = {s.id for s in found if s.signal == "label issue"}
    issues_planted = set(planted["label_issues"])
    share = lambda a, b: round(len(a & b) / max(1, len(b)), 4)  # noqa: E731
    return {"suggest_s": round(seconds, 1),
            "suggest_peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
            "suggestions": len(found), "suggest_pair_recall": share(pairs, pairs_planted),
            "suggest_pair_precision": share(pairs_planted, pairs),
            "label_issue_recall": share(issues, issues_planted), "label_issue_precision": share(issues_planted, issues)}


def child(*args) -> dict:
    proc = subprocess.run([sys.executable, __file__, *map(str, args)], capture_output=True, text=True)
    if proc.returncode:
        sys.exit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", default="10000,100000", help="comma-separated sizes, each in its own process")
    ap.add_argument("--clips-per-video", type=int, default=10)
    ap.add_argument("--exact-up-to", type=int, default=10_000, help="run the exact pass too up to this many videos")
    ap.add_argument("--suggest-up-to", type=int, default=100_000,
                    help="time the whole suggest pass over a workspace too up to this many videos")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--build", help=argparse.SUPPRESS)
    ap.add_argument("--suggest", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child and args.build:
        print(json.dumps(build_workspace(args.child, args.clips_per_video, Path(args.build))))
        return
    if args.suggest:
        print(json.dumps(time_suggest(Path(args.suggest))))
        return
    if args.child:
        print(json.dumps(one_size(args.child, args.clips_per_video, args.exact_up_to)))
        return
    results = []
    for n in (int(v) for v in args.videos.split(",")):
        common = ["--clips-per-video", args.clips_per_video]
        r = child("--child", n, *common, "--exact-up-to", args.exact_up_to)
        if n <= args.suggest_up_to:
            with tempfile.TemporaryDirectory(prefix="review-scale-") as folder:
                r.update(child("--child", n, *common, "--build", folder))
                r.update(child("--suggest", folder))
        results.append(r)
        ratio = f", {r['seconds'] / results[0]['seconds']:.1f}× the time of {results[0]['videos']}" \
            if len(results) > 1 else ""
        print(json.dumps(r) + ratio, flush=True)
    r = results[-1]
    print(f"review_scale videos={r['videos']} seconds={r['seconds']} peak_gb={r['peak_gb']} recall={r['recall']} "
          f"precision={r['precision']}")


if __name__ == "__main__":
    main()
