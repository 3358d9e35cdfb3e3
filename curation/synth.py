"""Synthetic dashcam data set in the Kaggle "Nexar collision prediction" layout.

`generate(out)` writes, fully offline:

    <out>/train.csv               id,time_of_event,time_of_alert,target
    <out>/test.csv                id
    <out>/train/<id>.mp4, <out>/test/<id>.mp4
    <out>/sample_submission.csv   id,target (0.5 everywhere)
    <out>/ground_truth.json       what the CSVs hide (true labels, flips, duplicates, corrupt files)

Scenes are drawn with numpy: a sky, a road converging to a vanishing point with lane dashes that
scroll toward the camera, and box-shaped vehicles projected with a pinhole camera. In a positive
video one vehicle closes in from the alert time and reaches the camera at the event time; in a
negative one all vehicles keep their distance or pass in the side lanes. Everything random comes
from `seed`, so ids, labels and times are reproducible (the mp4 bytes need not be).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from curation.bounds import MAX_SEED, whole
from curation.errors import BadInput, NotFound
from curation.synth_noise import UNIFORM_CAUSE, check_noise_model, draw_flips

__all__ = ["generate", "load_truth"]

TRUTH_FILE = "ground_truth.json"
LAYOUT = ("train.csv", "test.csv", "sample_submission.csv", TRUTH_FILE, "train", "test")
CORRUPT_KINDS = ("truncated", "empty", "text")
TAUS = (0.5, 1.0, 1.5)  # how long before the event a positive test video ends
TRUNCATE_FRACTION = 0.4

# Body colours shared by every vehicle of both classes, so colour says nothing about the label.
PALETTE = np.array(
    [
        (228, 228, 225), (32, 32, 36), (168, 170, 176), (104, 107, 112), (168, 32, 30),
        (36, 66, 150), (26, 36, 82), (42, 100, 62), (218, 178, 42), (208, 108, 32),
        (110, 76, 52), (198, 184, 150),
    ],
    dtype=np.float32,
)
# (name, probability, width range m, height range m)
VEHICLE_KINDS = (
    ("car", 0.6, (1.70, 1.95), (1.40, 1.60)),
    ("suv", 0.3, (1.85, 2.10), (1.70, 2.00)),
    ("truck", 0.1, (2.30, 2.50), (2.80, 3.20)),
)


# --------------------------------------------------------------------------------------------
# Planning: every random decision about ids, labels and times, made up front from `seed`.
# --------------------------------------------------------------------------------------------


@dataclass
class VideoPlan:
    """One output video. Times are in scene time; the video shows scene time (i + shift) / fps."""

    vid: str
    split: str
    target: int  # what the video really shows
    scene_seed: int  # near-duplicates share their source's scene seed
    noise_seed: int
    fps: Fraction
    n_frames: int
    scene_duration: float
    event: float | None = None
    alert: float | None = None
    tau: float | None = None
    shift: int = 0  # frames dropped at the start (near-duplicates)
    brightness_shift: float = 0.0
    source: str | None = None
    corrupt: str | None = None
    csv_target: int | None = None
    csv_event: float | None = None
    csv_alert: float | None = None
    hard: str | None = None  # near-miss | cut-in (a negative that looks like a positive) | dim (a positive hard to see)
    hard_time: float | None = None  # a hard negative's closest approach, scene time
    flip_cause: str | None = None

    @property
    def relpath(self) -> str:
        return f"{self.split}/{self.vid}.mp4"

    def scene(self, width: int, height: int) -> _Scene:
        return _Scene(self, width, height)

    def video_time(self, scene_t: float | None) -> float | None:
        """A scene time as seen on this video's own clock."""
        if scene_t is None:
            return None
        return round(scene_t - self.shift / float(self.fps), 3)


@dataclass(kw_only=True)
class _Params:
    """A Nexar generation's settings, named at the call (sixteen of them: never by position)."""
    n_train: int
    n_test: int
    width: int
    height: int
    duration_s: float
    test_duration_s: float
    fps_range: tuple[float, float]
    positive_fraction: float
    label_noise: float
    n_duplicates: int
    n_corrupt: int
    seed: int
    time_noise: tuple[float, float] = (0.0, 0.0)  # seconds a retimed video's labelled times move, at least/most
    time_noise_share: float = 0.0  # of the train positives whose labels are right
    noise_model: str = "uniform"
    hard_cases: float = 0.0  # share of negatives that are near misses / cut-ins, and of positives hard to see

    @property
    def n_dup_test(self) -> int:
        return self.n_duplicates // 2

    @property
    def n_dup_train(self) -> int:
        return self.n_duplicates - self.n_dup_test

    @property
    def n_train_orig(self) -> int:
        return self.n_train - self.n_dup_train

    @property
    def n_test_orig(self) -> int:
        return self.n_test - self.n_dup_test

    @property
    def n_flipped(self) -> int:
        # label noise is a fraction of the train videos that can be read at all
        return int(round(self.label_noise * (self.n_train - self.n_corrupt)))


MAX_DURATION_S = 3600  # an hour a video
MAX_VIDEOS = 1_000_000  # of any kind in one synthetic set: far past what a machine renders in a day


def check_whole_numbers(params, names) -> None:
    """Each named attribute of `params` is an integer (not a bool, not a float); video counts (n_*) are at most
    MAX_VIDEOS and a seed is in [0, MAX_SEED], so a huge number is refused before any planning."""
    for name in names:
        value = getattr(params, name)
        if not whole(value):
            raise BadInput(f"{name} must be an integer, got {value!r}", f"pass a whole number for {name}")
        most = MAX_VIDEOS if name.startswith("n_") else MAX_SEED if name == "seed" else None
        if most is not None and not whole(value, 0, most):
            raise BadInput(f"{name}={value} is outside [0, {most}]", f"pass a whole number from 0 to {most}")


def check_frame_size(width: int, height: int) -> None:
    """A frame size H.264 in yuv420p takes: even, from 32 to 4096 pixels a side."""
    for name, v in (("width", width), ("height", height)):
        if v < 32 or v > 4096 or v % 2:
            raise BadInput(f"{name}={v} is not usable for H.264 yuv420p", f"use an even {name} between 32 and 4096")


def _check_params(p: _Params) -> None:
    check_whole_numbers(p, ("n_train", "n_test", "width", "height", "n_duplicates", "n_corrupt", "seed"))
    if p.n_train < 2:
        raise BadInput(f"n_train={p.n_train} is too small", "use n_train >= 2")
    if p.n_test < 0:
        raise BadInput(f"n_test={p.n_test} is negative", "use n_test >= 0")
    check_frame_size(p.width, p.height)
    for name in ("duration_s", "test_duration_s", "positive_fraction", "label_noise"):
        try:
            setattr(p, name, float(getattr(p, name)))
        except (TypeError, ValueError):
            raise BadInput(f"{name}={getattr(p, name)!r} is not a number", f"pass a number for {name}") from None
    try:
        lo, hi = (float(v) for v in p.fps_range)
    except (TypeError, ValueError):
        raise BadInput(
            f"fps_range={p.fps_range!r} is not a pair of numbers", "pass fps_range=(low, high), e.g. (24, 31)"
        ) from None
    p.fps_range = (lo, hi)
    if not 2.0 <= p.duration_s <= MAX_DURATION_S:
        raise BadInput(f"duration_s={p.duration_s} is outside [2, {MAX_DURATION_S}] seconds (an alert and an event "
                       "need two)", f"use a duration from 2 to {MAX_DURATION_S} s")
    if not 1.0 <= p.test_duration_s <= MAX_DURATION_S:
        raise BadInput(f"test_duration_s={p.test_duration_s} is outside [1, {MAX_DURATION_S}] seconds",
                       f"use a test duration from 1 to {MAX_DURATION_S} s")
    if not 1.0 <= lo <= hi <= 120.0:
        raise BadInput(f"fps_range={p.fps_range!r} is out of order or out of range", "use 1 <= low <= high <= 120")
    if not 0.0 <= p.positive_fraction <= 1.0:
        raise BadInput(f"positive_fraction={p.positive_fraction} is not a fraction", "use a value in [0, 1]")
    if not 0.0 <= p.label_noise <= 0.5:
        raise BadInput(f"label_noise={p.label_noise} is outside [0, 0.5]", "use a value in [0, 0.5]")
    if p.n_duplicates < 0 or p.n_corrupt < 0:
        raise BadInput("n_duplicates and n_corrupt must be >= 0", "pass 0 or a positive count")
    check_noise_model(p.noise_model)
    if not 0.0 <= float(p.hard_cases) <= 1.0:
        raise BadInput(f"hard_cases={p.hard_cases} is not a share", "use a value in [0, 1]")
    try:
        p.time_noise = tuple(float(v) for v in p.time_noise)
        p.time_noise_share = float(p.time_noise_share)
    except (TypeError, ValueError):
        raise BadInput(f"time noise {p.time_noise!r} / share {p.time_noise_share!r} is not numbers",
                       "give the shift as (least, most) seconds and the share as a fraction") from None
    if len(p.time_noise) != 2 or not 0 <= p.time_noise[0] <= p.time_noise[1] <= p.duration_s / 2:
        raise BadInput(f"time noise {p.time_noise!r} is not (least, most) seconds within half a video",
                       "give two increasing shifts, e.g. (0.75, 2)")
    if not 0.0 <= p.time_noise_share <= 1.0 or (p.time_noise_share and not p.time_noise[1] > 0):
        raise BadInput(f"time noise share {p.time_noise_share} needs a share in [0, 1] and a shift above 0",
                       "give both, e.g. a share of 0.2 with shifts of 0.75 to 2 s")
    if p.n_dup_test > p.n_test:
        raise BadInput(
            f"n_duplicates={p.n_duplicates} puts {p.n_dup_test} copies in a test split of {p.n_test}",
            "lower n_duplicates or raise n_test",
        )
    if p.n_corrupt + p.n_duplicates > p.n_train_orig:
        raise BadInput(
            f"n_corrupt={p.n_corrupt} and n_duplicates={p.n_duplicates} need more train videos "
            f"than n_train={p.n_train} gives",
            "lower n_corrupt / n_duplicates or raise n_train",
        )
    pool = p.n_train_orig - p.n_corrupt - p.n_duplicates
    if p.n_flipped > pool:
        raise BadInput(
            f"label_noise={p.label_noise} asks for {p.n_flipped} flipped labels but only {pool} train videos are "
            "neither corrupt nor part of a duplicate pair",
            "lower label_noise, n_duplicates or n_corrupt",
        )


def _draw_fps(rng: np.random.Generator, fps_range) -> Fraction:
    lo, hi = (float(v) for v in fps_range)
    return Fraction(int(round(rng.uniform(lo, hi) * 100)), 100)


def _draw_times(rng: np.random.Generator, duration: float) -> tuple[float, float]:
    """A plausible (event, alert) pair inside a video of `duration` seconds."""
    event = rng.uniform(0.55, 0.85) * duration
    hi = min(2.5, event - 0.3)  # the alert stays >= 0.3 s into the video
    lead = rng.uniform(min(1.0, hi), hi)
    return round(event, 3), round(event - lead, 3)


def _shuffled_labels(rng: np.random.Generator, n: int, n_pos: int) -> list[int]:
    labels = np.zeros(n, dtype=int)
    labels[:n_pos] = 1
    rng.shuffle(labels)
    return labels.tolist()


def _plan_train(p: _Params, rng, ids) -> dict[str, VideoPlan]:
    plans: dict[str, VideoPlan] = {}
    labels = _shuffled_labels(rng, len(ids), int(round(p.positive_fraction * len(ids))))
    for vid, target in zip(ids, labels):
        fps = _draw_fps(rng, p.fps_range)
        plan = VideoPlan(vid, "train", target, int(rng.integers(2**62)), int(rng.integers(2**62)), fps,
                         int(round(p.duration_s * fps)), p.duration_s)
        if target:
            plan.event, plan.alert = _draw_times(rng, p.duration_s)
        plans[vid] = plan
    return plans


def _plan_test(p: _Params, rng, ids, n_pos: int) -> dict[str, VideoPlan]:
    plans: dict[str, VideoPlan] = {}
    labels = _shuffled_labels(rng, len(ids), n_pos)
    n_pos_seen = 0
    tau_order = list(rng.permutation(len(TAUS)))  # balanced taus, random start
    for vid, target in zip(ids, labels):
        fps = _draw_fps(rng, p.fps_range)
        plan = VideoPlan(vid, "test", target, int(rng.integers(2**62)), int(rng.integers(2**62)), fps,
                         int(round(p.test_duration_s * fps)), p.test_duration_s)
        if target:
            tau = TAUS[tau_order[n_pos_seen % len(TAUS)]]
            n_pos_seen += 1
            # The scene's event lies tau after the cut. The alert is early enough that the
            # approach has started at least 0.5 s before the video ends.
            plan.tau = tau
            plan.event = round(p.test_duration_s + tau, 3)
            lead = rng.uniform(max(1.0, tau + 0.5), 2.5)
            plan.alert = round(plan.event - lead, 3)
        plans[vid] = plan
    return plans


def _plan_copy(rng, src: VideoPlan, vid: str, split: str, test_duration_s: float) -> VideoPlan:
    """A near-duplicate: same scene, slightly brighter/darker, other noise, 0-2 frames later."""
    sign = 1.0 if rng.random() < 0.5 else -1.0
    cp = VideoPlan(
        vid, split, src.target, src.scene_seed, int(rng.integers(2**62)), src.fps, src.n_frames,
        src.scene_duration, src.event, src.alert, shift=int(rng.integers(0, 3)),
        brightness_shift=sign * float(rng.uniform(0.02, 0.05)), source=src.vid, hard=src.hard,
        hard_time=src.hard_time,
    )
    if split == "test":
        if src.target:
            # like every positive test video, end tau before the event (length may differ)
            taus = [t for t in TAUS if src.event - t >= 1.0] or [TAUS[0]]
            cp.tau = float(rng.choice(taus))
            cp.n_frames = max(1, int(round((src.event - cp.tau) * float(src.fps))) - cp.shift)
        else:
            cp.n_frames = int(round(test_duration_s * float(src.fps)))
    return cp


def _plan(p: _Params) -> dict[str, VideoPlan]:
    rng = np.random.default_rng(p.seed)
    ids = [f"{i:05d}" for i in rng.choice(100_000, p.n_train + p.n_test, replace=False)]
    train_ids, test_ids = ids[: p.n_train], ids[p.n_train :]
    train_orig, train_copies = train_ids[: p.n_train_orig], train_ids[p.n_train_orig :]
    test_orig, test_copies = test_ids[: p.n_test_orig], test_ids[p.n_test_orig :]

    plans = _plan_train(p, rng, train_orig)
    _mark_hard(p, plans, "train")

    corrupt = [str(v) for v in rng.choice(train_orig, p.n_corrupt, replace=False)] if p.n_corrupt else []
    for k, vid in enumerate(corrupt):
        plans[vid].corrupt = CORRUPT_KINDS[k % len(CORRUPT_KINDS)]

    readable = [v for v in train_orig if v not in set(corrupt)]
    sources = [str(v) for v in rng.choice(readable, p.n_duplicates, replace=False)] if p.n_duplicates else []
    for src, vid in zip(sources, train_copies + test_copies):
        split = "train" if vid in train_copies else "test"
        plans[vid] = _plan_copy(rng, plans[src], vid, split, p.test_duration_s)

    # half of the test split is positive, counting the leaked copies
    n_pos_copies = sum(plans[v].target for v in test_copies)
    test_plans = _plan_test(p, rng, test_orig, min(max(p.n_test // 2 - n_pos_copies, 0), len(test_orig)))
    _mark_hard(p, test_plans, "test")
    plans.update(test_plans)

    # csv labels: the truth, except for a few flipped originals outside any duplicate pair
    pool = [v for v in readable if v not in set(sources)]
    if p.noise_model == "uniform":
        flipped = {str(v) for v in rng.choice(pool, p.n_flipped, replace=False)} if p.n_flipped else set()
    else:
        flipped = _annotator_flips(p, plans, pool)
    for vid in train_orig:
        plan = plans[vid]
        if vid not in flipped:
            plan.csv_target, plan.csv_event, plan.csv_alert = plan.target, plan.event, plan.alert
        elif plan.target:
            plan.csv_target = 0
        elif plan.hard_time is not None:  # a near miss taken for a collision: the event put at its closest approach
            plan.csv_target = 1
            plan.csv_event = round(plan.hard_time, 3)
            plan.csv_alert = round(max(0.3, plan.hard_time - float(rng.uniform(1.0, 2.0))), 3)
        else:
            plan.csv_target = 1
            plan.csv_event, plan.csv_alert = _draw_times(rng, p.duration_s)
    _retime(p, plans, [v for v in pool if v not in flipped and plans[v].target])
    for vid in train_copies:
        src = plans[plans[vid].source]
        plans[vid].csv_target, plans[vid].csv_event, plans[vid].csv_alert = src.csv_target, src.csv_event, src.csv_alert
    return dict(sorted(plans.items()))


HARD_KINDS = ("near-miss", "cut-in")


def _mark_hard(p: _Params, plans: dict[str, VideoPlan], split: str) -> None:
    """Hard cases, from a generator of their own (a data set without them stays as it was): `hard_cases` of the
    negatives get a vehicle that closes in and stops short or swerves away (near miss) or cuts into the lane and
    does not hit (cut-in); as many of the positives are hard to see (dusk light, a dark vehicle)."""
    if not p.hard_cases:
        return
    rng = np.random.default_rng([p.seed, 31337, len(split)])
    for target in (0, 1):
        members = [v for v, plan in sorted(plans.items()) if plan.target == target]
        for k, vid in enumerate(rng.permutation(members)[: int(round(p.hard_cases * len(members)))]):
            plan = plans[str(vid)]
            if target:
                plan.hard = "dim"
            else:
                plan.hard = HARD_KINDS[k % 2]
                plan.hard_time = round(float(rng.uniform(0.55, 0.85)) * plan.scene_duration, 3)


def _ambiguity(plan: VideoPlan, rng) -> tuple[float, str]:
    """How hard a video is to read: hard cases high, the rest low."""
    if plan.hard == "dim":
        return float(rng.uniform(0.7, 1.0)), "a collision hard to see: dusk light, a dark vehicle"
    if plan.hard:
        return float(rng.uniform(0.7, 1.0)), f"a {plan.hard} that looks like a collision"
    return float(rng.uniform(0.0, 0.3)), "clear"


def _annotator_flips(p: _Params, plans: dict[str, VideoPlan], pool: list[str]) -> set[str]:
    """Flips by the class-conditional or instance noise model (curation.synth_noise), from a generator of their
    own; each plan keeps its cause."""
    rng = np.random.default_rng([p.seed, 104729])
    assessed = {v: _ambiguity(plans[v], rng) for v in sorted(pool)}
    flips = draw_flips(rng, p.noise_model, {v: plans[v].target for v in pool}, 2, p.label_noise, {0: 1, 1: 0},
                       {v: a for v, (a, _) in assessed.items()}, {v: w for v, (_, w) in assessed.items()})
    for vid, flip in flips.items():
        plans[vid].flip_cause = flip.cause
    return set(flips)


def _retime(p: _Params, plans: dict, positives: list[str]) -> None:
    """Mis-timed labels: a share of the rightly labelled train positives get their event and alert times moved
    together (an annotator early or late) by a shift between the least and most asked for, either way, keeping
    both inside the video. Drawn from a generator of its own, so the rest of the data set stays as without."""
    if not p.time_noise_share:
        return
    rng = np.random.default_rng([p.seed, 7919])
    left = int(round(p.time_noise_share * len(positives)))
    for vid in sorted(positives, key=lambda v: rng.random()):  # a video whose times cannot move is passed over
        plan = plans[vid]
        magnitude = float(rng.uniform(*p.time_noise))
        for shift in rng.permutation([magnitude, -magnitude]):
            event, alert = plan.event + shift, plan.alert + shift
            if left and alert >= 0.1 and event <= p.duration_s - 0.2:
                plan.csv_event, plan.csv_alert = round(event, 3), round(alert, 3)
                left -= 1
                break


# --------------------------------------------------------------------------------------------
# Scene: a pinhole camera over a flat road. Screen y = y_h + f*(h_c - height)/Z, x = x_v + f*X/Z.
# --------------------------------------------------------------------------------------------


def _smoothstep(u: float) -> float:
    u = min(max(u, 0.0), 1.0)
    return u * u * (3.0 - 2.0 * u)


class _Vehicle:
    """A box seen from behind, with lateral position X(t) and distance Z(t) in metres."""

    def __init__(self, rng: np.random.Generator, brightness: float):
        names = [k[0] for k in VEHICLE_KINDS]
        probs = [k[1] for k in VEHICLE_KINDS]
        kind = VEHICLE_KINDS[names.index(str(rng.choice(names, p=probs)))]
        self.kind = kind[0]
        self.w = float(rng.uniform(*kind[2]))
        self.h = float(rng.uniform(*kind[3]))
        body = PALETTE[rng.integers(len(PALETTE))] + rng.uniform(-12, 12, 3)
        self.body = _colour(body, brightness)
        self.window = _colour(body * 0.25 + 20, brightness)
        self.bumper = _colour(body * 0.6, brightness)
        self.light = _colour(np.array([190.0, 28.0, 24.0]), brightness)
        self.dark = _colour(np.array([22.0, 22.0, 24.0]), brightness)
        self.sway = (float(rng.uniform(0, 0.25)), float(rng.uniform(0.3, 1.2)), float(rng.uniform(0, 6.3)))

    def lateral_sway(self, t: float) -> float:
        amp, freq, phase = self.sway
        return amp * math.sin(freq * t + phase)

    def position(self, t: float) -> tuple[float, float]:  # pragma: no cover - overridden
        raise NotImplementedError

    def draw(self, img: np.ndarray, t: float, cam: _Camera, ox: float, oy: float) -> None:
        X, Z = self.position(t)
        if Z < 0.3:
            return  # beside or behind the camera
        k = cam.f / Z
        left, right = cam.x_v - ox + k * (X - self.w / 2), cam.x_v - ox + k * (X + self.w / 2)
        bottom, top = cam.y_h - oy + k * cam.h_c, cam.y_h - oy + k * (cam.h_c - self.h)
        w, h = right - left, bottom - top
        _fill(img, top, bottom, left, right, self.body)
        if w < 5:
            return  # too small for details to show
        if self.kind != "truck":
            _fill(img, top + 0.10 * h, top + 0.40 * h, left + 0.12 * w, right - 0.12 * w, self.window)
        else:
            _fill(img, top + 0.05 * h, top + 0.08 * h, left, right, self.bumper)
        _fill(img, top + 0.50 * h, top + 0.62 * h, left + 0.04 * w, left + 0.20 * w, self.light)
        _fill(img, top + 0.50 * h, top + 0.62 * h, right - 0.20 * w, right - 0.04 * w, self.light)
        _fill(img, bottom - 0.20 * h, bottom - 0.10 * h, left, right, self.bumper)
        _fill(img, bottom - 0.10 * h, bottom, left + 0.04 * w, left + 0.22 * w, self.dark)
        _fill(img, bottom - 0.10 * h, bottom, right - 0.22 * w, right - 0.04 * w, self.dark)


class _Lead(_Vehicle):
    """Ego-lane traffic that keeps a safe distance: drifts, may close in slowly, then holds."""

    def __init__(self, rng, brightness):
        super().__init__(rng, brightness)
        self.z0 = float(rng.uniform(14, 35))
        self.v = float(rng.uniform(-3.0, 3.0))
        self.floor = float(rng.uniform(12, 16))  # a safe gap: never as close as a crasher gets
        self.wobble = (float(rng.uniform(0, 2)), float(rng.uniform(0.3, 1.0)), float(rng.uniform(0, 6.3)))

    def position(self, t):
        amp, freq, phase = self.wobble
        return self.lateral_sway(t), max(self.floor, self.z0 + self.v * t + amp * math.sin(freq * t + phase))


class _Passer(_Vehicle):
    """Side-lane traffic that overtakes or is overtaken; large only at the frame's sides."""

    def __init__(self, rng, brightness, duration, lane_w):
        super().__init__(rng, brightness)
        self.x = lane_w * (1 if rng.random() < 0.5 else -1)
        if rng.random() < 0.5:  # we overtake it: it comes closer and leaves at the side
            self.v = -float(rng.uniform(2, 8))
            self.z0 = float(rng.uniform(10, 10 + 0.9 * abs(self.v) * duration))
        else:  # it overtakes us: appears at the side and recedes
            self.v = float(rng.uniform(2, 8))
            self.z0 = float(rng.uniform(-4, 8))

    def position(self, t):
        return self.x + self.lateral_sway(t), self.z0 + self.v * t


class _Crasher(_Vehicle):
    """Normal traffic until the alert, then closes in and reaches the camera at the event."""

    def __init__(self, rng, brightness, event, alert, cam: _Camera, lane_w):
        super().__init__(rng, brightness)
        self.event, self.alert = event, alert
        self.z_alert = float(rng.uniform(12, 20))
        self.drift = float(rng.uniform(-1.5, 1.5))
        self.power = float(rng.uniform(0.9, 1.3))
        self.z_hit = cam.f * self.w / (float(rng.uniform(0.8, 0.95)) * cam.width)  # fills ~85% of the width
        self.x_end = float(rng.uniform(-0.15, 0.15))
        self.cut_in = rng.random() < 0.35
        self.x_start = lane_w * (1 if rng.random() < 0.5 else -1) if self.cut_in else self.x_end
        start = alert - float(rng.uniform(0.2, 0.6))
        self.cut_span = (start, max(start + 0.3, min(start + float(rng.uniform(0.6, 1.2)), event - 0.2)))

    def position(self, t):
        if t >= self.event:  # crashed: large and nearly still
            return self.x_end, self.z_hit * (1.0 + 0.02 * math.sin(3.0 * t))
        a, b = self.cut_span
        x = self.x_start + (self.x_end - self.x_start) * _smoothstep((t - a) / (b - a))
        u = min(max((t - self.alert) / (self.event - self.alert), 0.0), 1.0)
        if not self.cut_in:  # sway like other traffic, settling before the hit
            x += self.lateral_sway(t) * (1.0 - _smoothstep(u))
        if t < self.alert:
            return x, max(10.0, self.z_alert + self.drift * (self.alert - t))
        # 1/Z (the on-screen size) grows steadily from the alert to the impact, so the approach is visible
        # through the whole alert window rather than only in its last few frames.
        inverse = 1.0 / self.z_alert + (1.0 / self.z_hit - 1.0 / self.z_alert) * u ** self.power
        return x, 1.0 / inverse


class _NearMiss(_Vehicle):
    """A negative that looks like a positive: closes in as a crasher does, then stops short and follows at a few
    metres or swerves into the next lane (near-miss); or cuts into the lane close ahead and drops back (cut-in)."""

    def __init__(self, rng, brightness, kind: str, closest: float, lane_w):
        super().__init__(rng, brightness)
        self.kind_of_miss, self.closest = kind, closest
        self.start = closest - float(rng.uniform(1.0, 2.5))
        self.z_far = float(rng.uniform(12, 20))
        self.z_near = float(rng.uniform(2.8, 4.5) if kind == "near-miss" else rng.uniform(3.5, 6.0))
        self.swerve = lane_w * (1 if rng.random() < 0.5 else -1) if rng.random() < 0.5 else 0.0
        self.side = lane_w * (1 if rng.random() < 0.5 else -1)

    def position(self, t):
        u = min(max((t - self.start) / (self.closest - self.start), 0.0), 1.0)
        if self.kind_of_miss == "cut-in":  # from the side lane into ours, close ahead, then dropping back
            x = self.side * (1.0 - _smoothstep(u))
            z = self.z_near + max(0.0, t - self.closest) * 3.0
            return x + self.lateral_sway(t), z if u > 0 else self.z_near + 2.0
        inverse = 1.0 / self.z_far + (1.0 / self.z_near - 1.0 / self.z_far) * u
        x = self.lateral_sway(t) + self.swerve * _smoothstep((t - self.closest) / 0.8)
        return x, 1.0 / inverse


def _colour(rgb, brightness: float) -> np.ndarray:
    # kept inside [12, 243] so that adding +-4 noise in uint8 never wraps around
    return np.clip(np.asarray(rgb, dtype=np.float32) * brightness, 12, 243).astype(np.uint8)


def _fill(img: np.ndarray, y0, y1, x0, x1, colour) -> None:
    """Paint an axis-aligned rectangle given in float pixels, clipped to the image."""
    H, W = img.shape[:2]
    a, b = max(int(round(y0)), 0), min(int(round(y1)), H)
    c, d = max(int(round(x0)), 0), min(int(round(x1)), W)
    if a < b and c < d:
        img[a:b, c:d] = colour


@dataclass
class _Camera:
    width: int
    height: int
    y_h: float  # horizon row
    x_v: float  # vanishing point column
    f: float  # focal length in pixels
    h_c: float  # camera height in metres


class _Scene:
    """Static background built once, plus what moves: lane dashes, vehicles, jitter, crash effects."""

    NOISE_BANK = 5

    def __init__(self, plan: VideoPlan, width: int, height: int):
        rng = np.random.default_rng(plan.scene_seed)  # scene content: identical for near-duplicates
        self.plan = plan
        self.W, self.H = width, height
        self.cam = _Camera(width, height, height * rng.uniform(0.40, 0.47),
                           width * (0.5 + rng.uniform(-0.04, 0.04)), width * rng.uniform(0.32, 0.40),
                           rng.uniform(1.2, 1.45))
        self.lane_w = float(rng.uniform(3.2, 3.8))
        self.shoulder = float(rng.uniform(0.5, 1.5))
        self.v_ego = float(rng.uniform(12, 28))
        self.dash_len, self.dash_period = float(rng.uniform(2.5, 4.0)), float(rng.uniform(9, 14))
        self.margin = max(2, int(round(0.008 * width)))
        self.jitter = rng.uniform(0.3, 1.0) * self.margin, rng.uniform(1.5, 5.0, 2), rng.uniform(0, 6.3, 2)
        self.shake = rng.uniform(0, 6.3, 2)
        look = self._draw_look(rng)
        brightness = look["brightness"] * (1.0 + plan.brightness_shift) * (0.45 if plan.hard == "dim" else 1.0)
        self.bg, Z, X = self._build_background(rng, look, brightness)
        self.dash_colour = _colour(look["marking"], brightness)
        self._build_dashes(Z, X)
        self.vehicles = self._draw_vehicles(rng, brightness, look["road"])
        noise_rng = np.random.default_rng(plan.noise_seed)  # differs between near-duplicates
        amp = int(noise_rng.integers(2, 5))
        bank = noise_rng.integers(-amp, amp + 1, (self.NOISE_BANK, height, width, 3), dtype=np.int8)
        self.noise = bank.view(np.uint8)  # two's complement: uint8 addition then adds -amp..amp

    # -- appearance -----------------------------------------------------------------------

    @staticmethod
    def _draw_look(rng) -> dict:
        skies = [((95, 140, 205), (185, 205, 225)), ((135, 140, 150), (190, 192, 196)),
                 ((80, 90, 140), (225, 160, 110)), ((120, 165, 215), (215, 225, 235))]
        sides = [(70, 110, 55), (110, 120, 60), (150, 130, 95), (120, 118, 112), (55, 85, 50)]
        sky = skies[rng.integers(len(skies))]

        def jit(c):
            return np.asarray(c, np.float32) + rng.uniform(-10, 10, 3)

        grey = rng.uniform(70, 110)
        return {
            "brightness": float(rng.uniform(0.75, 1.2)),
            "sky_top": jit(sky[0]), "sky_horizon": jit(sky[1]),
            "side": jit(sides[rng.integers(len(sides))]),
            "road": np.array([grey, grey, grey * rng.uniform(1.0, 1.08)], np.float32),
            "skyline": jit((50, 70, 50) if rng.random() < 0.6 else (95, 95, 105)),
            "marking": jit((225, 225, 215)),
        }

    def _build_background(self, rng, look, brightness) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The static image (with a jitter margin), plus the ground distance Z and lateral X of each pixel."""
        cam, m = self.cam, self.margin
        Hb, Wb = self.H + 2 * m, self.W + 2 * m
        ys = np.arange(Hb, dtype=np.float32)[:, None] - m  # nominal frame rows
        xs = np.arange(Wb, dtype=np.float32)[None, :] - m
        dy = np.maximum(ys - cam.y_h, 0.5)
        ground = (ys - cam.y_h) > 0.5
        Z = cam.f * cam.h_c / dy  # distance of the ground seen in each row
        X = (xs - cam.x_v) * cam.h_c / dy  # lateral metres of each ground pixel

        img = np.empty((Hb, Wb, 3), np.float32)
        u = np.clip(ys / max(cam.y_h, 1.0), 0, 1)[..., None]
        img[:] = look["sky_top"] * (1 - u) + look["sky_horizon"] * u
        self._paint_skyline(rng, img, ys, look["skyline"])

        haze = np.clip(Z / 220.0, 0, 0.7)[..., None]  # distant ground fades into the horizon colour
        texture = rng.normal(0, 6, (Hb, Wb, 1)).astype(np.float32)
        road_half = 1.5 * self.lane_w + self.shoulder
        ground_col = np.where((np.abs(X) < road_half)[..., None], look["road"], look["side"] + texture)
        edge = np.abs(np.abs(X) - 1.5 * self.lane_w) < 0.08
        ground_col = np.where(edge[..., None], look["marking"], ground_col)
        ground_col = ground_col * (1 - haze) + look["sky_horizon"] * haze
        img = np.where(np.broadcast_to(ground, (Hb, Wb))[..., None], ground_col, img)
        Z = np.where(ground, Z, np.inf)  # sky rows have no ground distance
        return np.clip(img * brightness, 12, 243).astype(np.uint8), Z, X

    def _paint_skyline(self, rng, img, ys, colour) -> None:
        """Trees or buildings on the horizon: blocks of random width and height."""
        Wb = img.shape[1]
        widths = rng.uniform(0.03, 0.12, 64) * self.W
        edges = np.cumsum(widths)
        heights = rng.uniform(0.0, 0.08, 64) * self.H
        block = np.minimum(np.searchsorted(edges, np.arange(Wb)), 63)
        mask = (ys > self.cam.y_h - heights[block][None, :]) & (ys <= self.cam.y_h)
        img[mask] = colour

    def _build_dashes(self, Z: np.ndarray, X: np.ndarray) -> None:
        """Pixels of the dashed lane lines, with their ground distance, for fast per-frame drawing."""
        on_line = (np.abs(np.abs(X) - self.lane_w / 2) < 0.07) & (Z < 70)  # far dashes are sub-pixel
        rows, cols = np.nonzero(on_line)
        self.dash_rows, self.dash_cols = rows.astype(np.int32), cols.astype(np.int32)
        self.dash_z = Z[rows, 0].astype(np.float32)

    def _draw_vehicles(self, rng, brightness, road_colour) -> list[_Vehicle]:
        plan, dur = self.plan, self.plan.scene_duration
        n = int(rng.integers(1, 4))
        vehicles: list[_Vehicle] = []
        if plan.target:
            crasher = _Crasher(rng, brightness, plan.event, plan.alert, self.cam, self.lane_w)
            if plan.hard == "dim":  # a vehicle the colour of the road, lights off, at dusk: low contrast throughout
                road = road_colour * float(rng.uniform(1.05, 1.2))
                crasher.body = crasher.window = crasher.bumper = crasher.light = _colour(road, brightness)
                crasher.dark = _colour(road * 0.8, brightness)
            vehicles.append(crasher)
            vehicles += [_Passer(rng, brightness, dur, self.lane_w) for _ in range(n - 1)]
        elif plan.hard:
            vehicles.append(_NearMiss(rng, brightness, plan.hard, plan.hard_time, self.lane_w))
            vehicles += [_Passer(rng, brightness, dur, self.lane_w) for _ in range(n - 1)]
        else:
            if rng.random() < 0.65:
                vehicles.append(_Lead(rng, brightness))
            while len(vehicles) < n:
                vehicles.append(_Passer(rng, brightness, dur, self.lane_w))
        return vehicles

    # -- per frame --------------------------------------------------------------------------

    def _offset(self, t: float) -> tuple[int, int]:
        """Camera jitter in whole pixels: a smooth wobble within the background's margin."""
        amp, freq, phase = self.jitter
        jx = amp * math.sin(freq[0] * t + phase[0])
        jy = amp * math.sin(freq[1] * t + phase[1])
        return int(round(jx)), int(round(jy))

    def _travelled(self, t: float) -> float:
        if self.plan.target and t > self.plan.event:
            t = self.plan.event  # the ego car stops at the crash
        return self.v_ego * t

    def frame(self, i: int) -> np.ndarray:
        plan, m, H, W = self.plan, self.margin, self.H, self.W
        t = (i + plan.shift) / float(plan.fps)
        jx, jy = self._offset(t)
        img = self.bg[m + jy : m + jy + H, m + jx : m + jx + W].copy()

        on = ((self.dash_z + self._travelled(t)) % self.dash_period) < self.dash_len
        r, c = self.dash_rows[on] - (m + jy), self.dash_cols[on] - (m + jx)
        keep = (r >= 0) & (r < H) & (c >= 0) & (c < W)
        img[r[keep], c[keep]] = self.dash_colour

        for v in sorted(self.vehicles, key=lambda v: -v.position(t)[1]):  # far ones first
            v.draw(img, t, self.cam, jx, jy)
        img += self.noise[i % self.NOISE_BANK]  # wraps never: colours are kept in [12, 243]

        if plan.target and t >= plan.event:
            img = self._crash_effects(img, t - plan.event)
        return img

    def _crash_effects(self, img: np.ndarray, since: float) -> np.ndarray:
        if since < 0.5:  # shake, dying out
            amp = 0.05 * self.H * (1.0 - since / 0.5)
            dy = int(round(amp * math.sin(40.0 * since + self.shake[0])))
            dx = int(round(amp * math.sin(33.0 * since + self.shake[1])))
            img = np.roll(img, (dy, dx), axis=(0, 1))
        if since < 0.12:  # flash
            np.right_shift(img, 1, out=img)
            img += 120
        return img


# --------------------------------------------------------------------------------------------
# Writing videos
# --------------------------------------------------------------------------------------------


def _encode(path: Path, frames, fps: Fraction, width: int, height: int, threads: int) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23"}
        stream.codec_context.thread_count = threads
        for arr in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")))
        container.mux(stream.encode())


def _render_video(plan, width: int, height: int, path: str, threads: int = 1) -> tuple[str, int]:
    """Write one video (or its broken stand-in) to `path`. Runs in a worker thread. `plan` is any generator's
    plan: vid, fps, n_frames, corrupt and `scene(width, height)`, whose `frame(i)` draws frame i."""
    path = Path(path)
    if plan.corrupt == "empty":
        path.write_bytes(b"")
    elif plan.corrupt == "text":
        path.write_text("<html><body><h1>404 Not Found</h1>The requested video is unavailable.</body></html>\n")
    else:
        scene = plan.scene(width, height)
        _encode(path, (scene.frame(i) for i in range(plan.n_frames)), plan.fps, width, height, threads)
        if plan.corrupt == "truncated":
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * TRUNCATE_FRACTION)])
    return plan.vid, plan.n_frames


def render_all(plans: list, width: int, height: int, root: Path, workers: int, progress: bool) -> None:
    """Every plan's video at `root / plan.relpath` (folders made as needed), by `workers` threads."""
    from curation.progress import progress_bar

    for folder in {(root / p.relpath).parent for p in plans}:
        folder.mkdir(parents=True, exist_ok=True)
    jobs = [(p, width, height, str(root / p.relpath)) for p in plans]
    # big videos first so that the last worker is not left alone with a long one
    jobs.sort(key=lambda j: -j[0].n_frames * (j[0].corrupt not in ("empty", "text")))
    with progress_bar(total=len(jobs), desc="synth videos", unit="video", show=progress) as bar:
        if workers <= 1:
            for job in jobs:
                _render_video(*job, threads=1)
                bar.update(1)
            return
        # Threads, not processes: x264 and big numpy ops release the GIL, and threads need neither
        # fork (unsafe with torch/lance loaded) nor spawn (needs a __main__ guard in the caller).
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_render_video, *job) for job in jobs]
            try:
                for fut in as_completed(futures):
                    fut.result()
                    bar.update(1)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise


# --------------------------------------------------------------------------------------------
# Writing tables and ground truth
# --------------------------------------------------------------------------------------------


def _fmt_time(t: float | None) -> str:
    return "" if t is None else f"{t:.3f}"


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_tables(root: Path, plans: list[VideoPlan]) -> None:
    train = [p for p in plans if p.split == "train"]
    test = [p for p in plans if p.split == "test"]
    lines = ["id,time_of_event,time_of_alert,target"]
    for p in train:
        if p.csv_target:
            lines.append(f"{p.vid},{_fmt_time(p.csv_event)},{_fmt_time(p.csv_alert)},1")
        else:
            lines.append(f"{p.vid},,,0")
    _write_text(root / "train.csv", "\n".join(lines) + "\n")
    _write_text(root / "test.csv", "\n".join(["id"] + [p.vid for p in test]) + "\n")
    _write_text(root / "sample_submission.csv", "\n".join(["id,target"] + [f"{p.vid},0.5" for p in test]) + "\n")


def _truth(p: _Params, plans: list[VideoPlan]) -> dict:
    videos = {}
    for plan in plans:
        entry = {
            "split": plan.split,
            "target": plan.target,
            "fps": float(plan.fps),
            "n_frames": plan.n_frames,
            "time_of_event": plan.video_time(plan.event),
            "time_of_alert": plan.video_time(plan.alert),
            "tau": plan.tau,
        }
        if plan.split == "train":
            entry["csv_target"] = plan.csv_target
        if plan.hard:
            entry["hard"] = plan.hard
        videos[plan.vid] = entry
    params = {k: v for k, v in vars(p).items() if k != "seed"}
    params["fps_range"] = [float(v) for v in p.fps_range]
    return {
        "seed": p.seed,
        "params": params,
        "videos": videos,
        "flipped": [x.vid for x in plans if x.split == "train" and x.csv_target != x.target],
        "flips": {x.vid: {"true": x.target, "label": x.csv_target,
                          "cause": x.flip_cause or ("a copy of a mislabelled video" if x.source else UNIFORM_CAUSE)}
                  for x in plans if x.split == "train" and x.csv_target != x.target},
        "retimed": {x.vid: round(x.csv_event - x.event, 3) for x in plans
                    if x.split == "train" and x.source is None and x.csv_target == x.target == 1
                    and x.csv_event is not None and abs(x.csv_event - x.event) > 1e-6},
        "duplicates": [[x.source, x.vid] for x in plans if x.source is not None],
        "corrupt": {x.vid: x.corrupt for x in plans if x.corrupt},
    }


# --------------------------------------------------------------------------------------------
# Output directory handling
# --------------------------------------------------------------------------------------------


def _looks_like_synth(path: Path) -> bool:
    """A previous output of a generator: a readable ground truth and, for the Nexar layout, only its entries
    (a class-folder tree's entries are its classes or splits)."""
    try:
        truth = json.loads((path / TRUTH_FILE).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(truth, dict) or not {"seed", "params", "videos"} <= truth.keys():
        return False
    return truth.get("layout", "nexar") != "nexar" or set(os.listdir(path)) <= set(LAYOUT)


def _check_out(out: Path) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise BadInput(f"{out} exists and is not a directory", "choose another output path or remove the file")
    if any(out.iterdir()) and not _looks_like_synth(out):
        raise BadInput(
            f"{out} is a non-empty directory that is not a synthetic data set",
            "choose an empty or new output directory",
        )


def _move_into_place(tmp: Path, out: Path) -> None:
    """Swap the finished dataset in; the old synth output (if any) is removed afterwards."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.synth-old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.rename(out, old)
    os.rename(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_dataset(out, plans: list, width: int, height: int, tables, workers: int | None,
                  progress: bool) -> tuple[Path, dict]:
    """Render `plans` and write `tables(root)`'s files (it returns the ground truth, written as TRUTH_FILE) in a
    hidden folder beside `out`, renamed into place at the end: an interrupted run leaves `out` as it was. An
    earlier generator output at `out` is replaced; any other non-empty folder is refused."""
    out = Path(out).expanduser().absolute()
    _check_out(out)
    workers = max(1, min(int(workers or min(4, os.cpu_count() or 1)), len(plans)))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.synth-tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        render_all(plans, width, height, tmp, workers, progress)
        truth = tables(tmp)
        _write_text(tmp / TRUTH_FILE, json.dumps(truth, indent=1, sort_keys=True) + "\n")
        _move_into_place(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out, truth


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def generate(
    out: str | Path,
    *,
    n_train: int = 100,
    n_test: int = 30,
    width: int = 320,
    height: int = 180,
    duration_s: float = 8.0,
    test_duration_s: float = 6.0,
    fps_range: tuple[float, float] = (24, 31),
    positive_fraction: float = 0.5,
    label_noise: float = 0.0,
    n_duplicates: int = 0,
    n_corrupt: int = 0,
    seed: int = 0,
    time_noise: tuple[float, float] = (0.0, 0.0),
    time_noise_share: float = 0.0,
    noise_model: str = "uniform",
    hard_cases: float = 0.0,
    progress: bool = True,
    workers: int | None = None,
) -> dict:
    """Write a synthetic Nexar-layout data set to `out` and return a summary.

    The whole data set is built in a hidden directory next to `out` and renamed into place at
    the end, so an interrupted run leaves `out` untouched. An existing synth output at `out` is
    replaced; any other non-empty directory is refused. `workers` is the number of encoding
    threads (default: the CPU count, at most 4). Raises BadInput for invalid arguments.
    """
    started = time.perf_counter()
    p = _Params(n_train=n_train, n_test=n_test, width=width, height=height, duration_s=duration_s,
                test_duration_s=test_duration_s, fps_range=fps_range, positive_fraction=positive_fraction,
                label_noise=label_noise, n_duplicates=n_duplicates, n_corrupt=n_corrupt, seed=seed,
                time_noise=time_noise, time_noise_share=time_noise_share, noise_model=noise_model,
                hard_cases=hard_cases)
    _check_params(p)
    plans = list(_plan(p).values())

    def tables(root: Path) -> dict:
        (root / "train").mkdir(exist_ok=True)
        (root / "test").mkdir(exist_ok=True)
        _write_tables(root, plans)
        return _truth(p, plans)

    out, truth = write_dataset(out, plans, width, height, tables, workers, progress)
    return {
        "out": str(out),
        "n_train": n_train,
        "n_test": n_test,
        "n_positive_train": sum(x.target for x in plans if x.split == "train"),
        "n_positive_test": sum(x.target for x in plans if x.split == "test"),
        "n_flipped": len(truth["flipped"]),
        "n_retimed": len(truth["retimed"]),
        "n_duplicates": len(truth["duplicates"]),
        "n_corrupt": len(truth["corrupt"]),
        "n_frames": sum(x.n_frames for x in plans),
        "paths": {
            "train_csv": str(out / "train.csv"),
            "test_csv": str(out / "test.csv"),
            "sample_submission": str(out / "sample_submission.csv"),
            "ground_truth": str(out / TRUTH_FILE),
            "train_dir": str(out / "train"),
            "test_dir": str(out / "test"),
        },
        "seconds": round(time.perf_counter() - started, 2),
    }


def load_truth(out: str | Path) -> dict:
    """The ground truth written by `generate` (true labels, flips, duplicates, corrupt files)."""
    path = Path(out) / TRUTH_FILE
    if not path.is_file():
        raise NotFound(f"no {TRUTH_FILE} in {out}", "point at a directory written by curation.synth.generate")
    return json.loads(path.read_text())
