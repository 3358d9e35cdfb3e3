"""Synthetic action recognition in class folders (UCF50-style), what `curate ingest folders` reads.

`generate_actions(out, n_classes=K)` writes, fully offline:

    <out>/train/<class>/v_<id>_gNN_cMM.mp4   the labelled videos, in the folder of their (possibly wrong) label
    <out>/test/<class>/...                   held-out videos under their true class (none with n_test=0, and
                                             then the tree is plain <class>/<video>)
    <out>/ground_truth.json                  true classes, every flip and its cause, duplicates, corrupt files

A class is a motion of a shape (a disc orbiting, a square sliding, a cross spinning, ...). Classes come in
look-alike pairs that share motion and shape and differ by one subtle cue: a mark on the object, stripes on it,
or, for a motion that becomes another heading when run backwards (a drop, an approach), the motion run backwards
in time (see `_ActionScene._pose`). Everything else varies per video and says nothing about the class:
background texture and colours, camera pan and shake, lighting, the object's colour, size and speed, an
occluder, distractor shapes, the length of the video.
Videos of one group (`_gNN_`) share the kind of background and the light, as UCF's groups share a scene, so
ingest keeps a group on one side of the val split; each video draws its own background colours and texture and
its object's colour (with a few groups a class, a look shared by a group would let a model learn the group's
look instead of the class).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from curation.errors import BadInput
from curation.synth import CORRUPT_KINDS, check_frame_size, check_whole_numbers, write_dataset
from curation.synth_noise import Flip, check_noise_model, draw_flips

MOTIONS = ("orbit", "drop", "spin", "approach", "shake", "slide", "bounce", "zigzag", "pulse", "wave")
# Run backwards, these become another heading (rise against drop, recede against approach): a cue that survives
# training's horizontal flips, unlike the turning sense of an orbit or a spin.
REVERSIBLE = {"approach", "drop"}
SHAPES = ("disc", "square", "triangle", "cross", "ring", "bar")
ROUND = {"disc", "ring"}  # a spin of these would not show
# A pair's cue, by round of MOTIONS: the first round's pairs differ in speed (or run backwards, where that is a
# change of heading), the next rounds' in a mark or stripes on the object: the tiny model reads motion far sooner
# than appearance (bench/README.md, issue 41), so K = 10 is a motion world and larger K adds appearance.
CUES = ("speed", "mark", "stripes")
SPEED_CUE = 0.7  # a fast twin moves 1 + 0.7·s times the usual speed, a slow one 1 / (1 + 0.7·s), s the cue strength
MAX_CLASSES = 50
CUE_STRENGTH = (0.45, 1.0)  # how visible a video's cue is (mark size and contrast, stripe contrast)
# The object's size (share of the frame's shorter side) and an occluder's width (share of the frame): large enough
# that a 64×64 clip of 8×8-px patches shows the object's shape and cue, as UCF's actors fill much of their frame.
SIZE = (0.22, 0.42)
OCCLUSION = (0.1, 0.22)
PALETTE = np.array([(230, 60, 50), (50, 110, 230), (245, 200, 40), (60, 180, 90), (240, 130, 30),
                    (150, 80, 200), (40, 190, 200), (230, 90, 160), (235, 235, 235), (120, 90, 60)], np.float32)


@dataclass(frozen=True)
class ActionClass:
    name: str
    motion: str
    shape: str
    cue: str  # how it differs from its partner
    variant: int  # 0 or 1: which side of the cue
    partner: int  # the index of its look-alike


def action_classes(k: int) -> list[ActionClass]:
    """K classes in look-alike pairs: pair i has its own motion and shape (no two pairs share both) and one cue
    that tells its two classes apart. With an odd K the last class has no twin; its look-alike is the class before
    it, whose motion it shares."""
    if not 2 <= k <= MAX_CLASSES:
        raise BadInput(f"{k} classes asked for", f"use between 2 and {MAX_CLASSES} classes")
    out = []
    for i in range((k + 1) // 2):
        motion = MOTIONS[i % len(MOTIONS)]
        shape = SHAPES[(i + i // len(MOTIONS)) % len(SHAPES)]
        if motion == "spin" and shape in ROUND:
            shape = "bar"
        cue = CUES[(i // len(MOTIONS)) % len(CUES)]
        if cue == "speed" and motion in REVERSIBLE:
            cue = "reverse"
        for variant in (0, 1):
            index = 2 * i + variant
            if index < k:
                partner = index ^ 1 if (index ^ 1) < k else index - 1
                out.append(ActionClass(_class_name(motion, shape, cue, variant), motion, shape, cue, variant, partner))
    return out


def _class_name(motion: str, shape: str, cue: str, variant: int) -> str:
    side = {"reverse": ("forward", "backward"), "mark": ("plain", "marked"), "stripes": ("solid", "striped"),
            "speed": ("slow", "fast")}[cue]
    return f"{motion}_{shape}_{side[variant]}"


@dataclass
class Look:
    """What a group of videos shares: the kind of background and the light."""
    background: str
    brightness: float


@dataclass
class ActionPlan:
    vid: str  # the video id ingest will give it: the path without its extension
    split: str  # train | test
    true_class: int
    label: int  # the folder it is written to
    group: int
    look: Look
    fps: Fraction
    n_frames: int
    speed: float
    background_seed: int  # the video's own background colours and texture
    object_colour: np.ndarray
    size: float  # the object's size as a share of the frame's shorter side
    occlusion: float  # share of the frame an occluder covers (0: none)
    cue_strength: float
    motion_seed: int
    noise_seed: int
    brightness_shift: float = 0.0
    shift: int = 0
    source: str | None = None
    corrupt: str | None = None
    flip: Flip | None = None
    classes: list = field(default_factory=list, repr=False)
    nuisance: float = 1.0
    shape: str = ""  # the object's shape when its class leaves it open ("any": curation.synth_pretrain)

    @property
    def relpath(self) -> str:
        return f"{self.vid}.mp4"

    def scene(self, width: int, height: int) -> _ActionScene:
        return _ActionScene(self, width, height)

    def ambiguity(self) -> tuple[float, str]:
        """How hard the video is to read, in [0, 1], and why: occlusion, slowness (unless speed is the cue),
        smallness, a faint cue."""
        slow = 0.0 if self.classes[self.true_class].cue == "speed" else _clip01((1.3 - self.speed) / 0.75)
        parts = {"occluded": min(1.0, self.occlusion / OCCLUSION[1]), "slow": slow,
                 "small": _clip01((0.3 - self.size) / 0.08),
                 "faint cue": _clip01((0.75 - self.cue_strength) / 0.3)}
        words = [f"{name} {value:.2f}" for name, value in parts.items() if value > 0.2]
        return float(np.mean(list(parts.values()))), ", ".join(words) or "clear"


def _clip01(x: float) -> float:
    return float(min(max(x, 0.0), 1.0))


# --------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class _Params:
    """An actions generation's settings, named at the call (fourteen of them: never by position)."""
    n_train: int
    n_test: int
    n_classes: int
    width: int
    height: int
    duration_s: tuple[float, float]
    test_duration_s: tuple[float, float]
    fps_range: tuple[float, float]
    label_noise: float
    noise_model: str
    n_duplicates: int
    n_corrupt: int
    seed: int
    nuisance: float = 1.0  # how much of everything that is not the class: 1 all, 0 a plain still backdrop

    def check(self) -> None:
        check_whole_numbers(self, ("n_train", "n_test", "n_classes", "width", "height", "n_duplicates", "n_corrupt",
                                   "seed"))
        action_classes(self.n_classes)
        check_noise_model(self.noise_model)
        if self.n_train < 2 * self.n_classes:
            raise BadInput(f"{self.n_train} train videos for {self.n_classes} classes",
                           "give at least two train videos a class")
        if self.n_test < 0 or self.n_duplicates < 0 or self.n_corrupt < 0:
            raise BadInput("test, duplicate and corrupt counts must be >= 0", "pass 0 or a positive count")
        check_frame_size(self.width, self.height)
        if not 0.0 <= self.label_noise <= 0.5:
            raise BadInput(f"label_noise={self.label_noise} is outside [0, 0.5]", "use a value in [0, 0.5]")
        for name in ("duration_s", "test_duration_s"):
            lo, hi = getattr(self, name)
            if not 1.0 <= lo <= hi <= 60:
                raise BadInput(f"{name}={getattr(self, name)} is not (shortest, longest) seconds in [1, 60]",
                               "give two increasing lengths, e.g. (2.5, 4.5)")
        if self.n_duplicates // 2 > self.n_test:
            raise BadInput(f"{self.n_duplicates} duplicates put {self.n_duplicates // 2} copies in a test split of "
                           f"{self.n_test}", "lower the duplicates or raise the test videos")
        if self.n_corrupt + self.n_duplicates > self.n_train // 2:
            raise BadInput(f"{self.n_corrupt} corrupt and {self.n_duplicates} duplicated videos need more than "
                           f"{self.n_train} train videos", "lower them or raise the train videos")


def _balanced(rng, n: int, k: int) -> list[int]:
    """n class indices, as equal as can be, in random order."""
    labels = np.arange(n) % k
    rng.shuffle(labels)
    return labels.tolist()


def draw_look(rng) -> Look:
    """A group's look: the kind of background and the light (the pretraining stream draws one per clip)."""
    return Look(str(rng.choice(["blobs", "stripes", "checker", "gradient"])), float(rng.uniform(0.6, 1.3)))


def _speed(rng, cls: ActionClass, cue_strength: float) -> float:
    """How fast the video's motion runs (1: a cycle in 1.4-2.2 s): the cue of a speed pair, else a nuisance."""
    if cls.cue != "speed":
        return float(rng.uniform(0.55, 1.6))
    fast = 1 + SPEED_CUE * cue_strength
    return fast if cls.variant else 1 / fast


def _plan_video(rng, p: _Params, classes: list[ActionClass], split: str, cls: int, group: int, look: Look,
                name: str) -> ActionPlan:
    lo, hi = p.duration_s if split == "train" else p.test_duration_s
    fps = Fraction(int(round(rng.uniform(*p.fps_range) * 100)), 100)
    occluded = rng.random() < 0.3 * p.nuisance
    cue_strength = float(rng.uniform(*CUE_STRENGTH))
    return ActionPlan(name, split, cls, cls, group, look, fps, int(round(rng.uniform(lo, hi) * fps)),
                      speed=_speed(rng, classes[cls], cue_strength), background_seed=int(rng.integers(2**62)),
                      object_colour=PALETTE[rng.integers(len(PALETTE))] + rng.uniform(-15, 15, 3),
                      size=float(rng.uniform(*SIZE) + 0.1 * (1 - p.nuisance)),
                      occlusion=float(rng.uniform(*OCCLUSION)) if occluded else 0.0,
                      cue_strength=cue_strength, motion_seed=int(rng.integers(2**62)),
                      noise_seed=int(rng.integers(2**62)), classes=classes, nuisance=p.nuisance)


def _groups(rng, p: _Params, split: str, labels: list[int], first_group: int) -> list[tuple[int, int, Look]]:
    """(class, group, look) per video: each class's videos in groups of 3-5 that share a look."""
    out, group = [], first_group
    for cls in range(p.n_classes):
        n = labels.count(cls)
        while n > 0:
            size = min(n, int(rng.integers(3, 6)))
            look = draw_look(rng)
            out += [(cls, group, look)] * size
            group, n = group + 1, n - size
    return out


def _plan(p: _Params, classes: list[ActionClass]) -> list[ActionPlan]:
    rng = np.random.default_rng(p.seed)
    n_dup_test = p.n_duplicates // 2
    n_train_orig = p.n_train - (p.n_duplicates - n_dup_test)
    n_test_orig = p.n_test - n_dup_test
    ids = [f"{i:05d}" for i in rng.choice(100_000, p.n_train + p.n_test, replace=False)]
    plans, counters = [], {}
    first = 1
    for split, n in (("train", n_train_orig), ("test", n_test_orig)):
        members = _groups(rng, p, split, _balanced(rng, n, p.n_classes), first)
        first += len({g for _, g, _ in members})
        for cls, group, look in members:
            counters[group] = counters.get(group, 0) + 1
            plans.append(_plan_video(rng, p, classes, split, cls, group, look,
                                     f"{ids.pop()}_g{group:02d}_c{counters[group]:02d}"))
    train = [x for x in plans if x.split == "train"]
    corrupt = list(rng.choice(len(train), p.n_corrupt, replace=False)) if p.n_corrupt else []
    for k, i in enumerate(corrupt):
        train[i].corrupt = CORRUPT_KINDS[k % len(CORRUPT_KINDS)]
    readable = [x for i, x in enumerate(train) if i not in set(corrupt)]
    sources = [readable[i] for i in rng.choice(len(readable), p.n_duplicates, replace=False)] if p.n_duplicates else []
    for k, src in enumerate(sources):  # a copy: other noise, slightly brighter or darker, 0-2 frames later
        split = "test" if k < n_dup_test else "train"
        group = first + k
        copy = ActionPlan(f"{ids.pop()}_g{group:02d}_c01", split, src.true_class, src.true_class, group, src.look,
                          src.fps, src.n_frames, src.speed, src.background_seed, src.object_colour, src.size,
                          src.occlusion, src.cue_strength, src.motion_seed, int(rng.integers(2**62)),
                          brightness_shift=float(rng.choice([-1, 1]) * rng.uniform(0.02, 0.05)),
                          shift=int(rng.integers(0, 3)), source=src.vid, classes=classes, nuisance=p.nuisance)
        plans.append(copy)
    eligible = [x for x in readable if x not in sources]
    assessed = {x.vid: x.ambiguity() for x in eligible}
    flips = draw_flips(np.random.default_rng([p.seed, 104729]), p.noise_model, {x.vid: x.true_class for x in eligible},
                       p.n_classes, p.label_noise, {c: a.partner for c, a in enumerate(classes)},
                       {v: a for v, (a, _) in assessed.items()}, {v: w for v, (_, w) in assessed.items()})
    by_vid = {x.vid: x for x in plans}
    for vid, flip in flips.items():
        by_vid[vid].flip, by_vid[vid].label = flip, flip.label
    for x in plans:
        if x.source is not None and x.split == "train":
            x.label = by_vid[x.source].label  # a train copy carries its source's label, right or wrong
    renamed = {}
    for x in plans:  # the id ingest gives: the path without its extension
        folder = f"{x.split}/" if p.n_test else ""
        new = f"{folder}{classes[x.label].name}/v_{x.vid}"
        renamed[x.vid], x.vid = new, new
    for x in plans:
        if x.source is not None:
            x.source = renamed[x.source]
    return sorted(plans, key=lambda x: x.vid)


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------


def _shape_mask(shape: str, n: int) -> np.ndarray:
    """An n×n alpha mask of the shape, centred, filling about the square."""
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    u, v = (xx + 0.5) / n * 2 - 1, (yy + 0.5) / n * 2 - 1
    r = np.hypot(u, v)
    if shape == "disc":
        m = r <= 0.95
    elif shape == "ring":
        m = (r <= 0.95) & (r >= 0.55)
    elif shape == "square":
        m = (np.abs(u) <= 0.8) & (np.abs(v) <= 0.8)
    elif shape == "triangle":
        m = (v <= 0.8) & (v >= -0.9 + 1.9 * np.abs(u))
    elif shape == "cross":
        m = ((np.abs(u) <= 0.3) & (np.abs(v) <= 0.95)) | ((np.abs(v) <= 0.3) & (np.abs(u) <= 0.95))
    else:  # bar
        m = (np.abs(u) <= 0.95) & (np.abs(v) <= 0.3)
    return m.astype(np.float32)


class _ActionScene:
    SPRITE = 64  # the object is drawn once at this size and warped into each frame
    NOISE_BANK = 5

    def __init__(self, plan: ActionPlan, width: int, height: int):
        self.plan, self.W, self.H = plan, width, height
        cls = plan.classes[plan.true_class]
        self.cls = cls
        self.shape = plan.shape or cls.shape
        rng = np.random.default_rng(plan.motion_seed)
        self.margin = int(0.12 * max(width, height))
        self.bg = self._background(np.random.default_rng(plan.background_seed), plan.look)
        self.sprite, self.alpha = self._sprite(rng)
        side = min(width, height)
        self.px = plan.size * side  # the object's size in pixels
        self.centre = np.array([rng.uniform(0.4, 0.6) * width, rng.uniform(0.4, 0.6) * height])
        self.period = float(rng.uniform(1.4, 2.2)) / plan.speed  # seconds per cycle of the motion
        self.phase = float(rng.uniform(0, 1))
        self.pan = rng.uniform(-1, 1, 2) * self.margin * 0.6 * plan.nuisance  # camera travel, pixels
        self.shake = float(rng.uniform(0, 2.0)) * plan.nuisance, rng.uniform(0, 6.3, 2), float(rng.uniform(2, 6))
        self.flicker = float(rng.uniform(0, 0.08)), float(rng.uniform(0.5, 2.0))
        self.distractors = [self._distractor(rng) for _ in range(int(round(rng.integers(0, 3) * plan.nuisance)))]
        self.occluder = self._occluder(rng) if plan.occlusion else None
        noise_rng = np.random.default_rng(plan.noise_seed)
        self.noise = noise_rng.normal(0, 4, (self.NOISE_BANK, height, width, 3)).astype(np.float32)
        self.duration = plan.n_frames / float(plan.fps)

    def _background(self, rng, look: Look) -> np.ndarray:
        H, W = self.H + 2 * self.margin, self.W + 2 * self.margin
        c = rng.uniform(30, 225, (2, 3))
        if look.background == "blobs":
            field = cv2.resize(rng.uniform(0, 1, (6, 6)).astype(np.float32), (W, H), interpolation=cv2.INTER_CUBIC)
        elif look.background == "stripes":
            angle, period = rng.uniform(0, np.pi), rng.uniform(10, 30)
            yy, xx = np.mgrid[0:H, 0:W]
            field = 0.5 + 0.5 * np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
        elif look.background == "checker":
            cell = int(rng.integers(8, 24))
            yy, xx = np.mgrid[0:H, 0:W]
            field = ((yy // cell + xx // cell) % 2).astype(np.float32) * 0.8 + 0.1
        else:
            yy, xx = np.mgrid[0:H, 0:W]
            field = (xx / W * rng.uniform(0.3, 1) + yy / H * rng.uniform(0.3, 1)) / 2
        field = np.clip(field, 0, 1)[..., None].astype(np.float32) * self.plan.nuisance  # 0: one plain colour
        img = c[0] * (1 - field) + c[1] * field + rng.normal(0, 5, (H, W, 1))
        return img.astype(np.float32)

    def _sprite(self, rng) -> tuple[np.ndarray, np.ndarray]:
        n, cls, plan = self.SPRITE, self.cls, self.plan
        alpha = _shape_mask(self.shape, n)
        colour = np.broadcast_to(plan.object_colour, (n, n, 3)).astype(np.float32).copy()
        contrast = 255 - plan.object_colour  # the opposite colour: visible on any object
        s = plan.cue_strength
        if cls.cue == "mark" and cls.variant:  # a small dot off centre
            yy, xx = np.mgrid[0:n, 0:n]
            r = n * 0.22 * s
            dot = np.hypot(xx - n * 0.6, yy - n * 0.4) <= r
            colour[dot] = colour[dot] * (1 - s) + contrast * s
            alpha = np.maximum(alpha, dot.astype(np.float32))
        if cls.cue == "stripes" and cls.variant:
            yy, xx = np.mgrid[0:n, 0:n]
            band = (((xx + yy) // max(2, n // 6)) % 2).astype(bool)
            colour[band] = colour[band] * (1 - 0.6 * s) + contrast * 0.6 * s
        return colour, alpha

    def _distractor(self, rng) -> dict:
        shape = str(rng.choice(SHAPES))
        size = float(rng.uniform(0.06, 0.14)) * min(self.W, self.H)
        start = rng.uniform(0, 1, 2) * (self.W, self.H)
        velocity = rng.uniform(-0.25, 0.25, 2) * (self.W, self.H)
        colour = PALETTE[rng.integers(len(PALETTE))]
        return {"mask": _shape_mask(shape, 24), "size": size, "start": start, "v": velocity, "colour": colour}

    def _occluder(self, rng) -> tuple[slice, slice, np.ndarray]:
        """A band (a post, a person walking past the camera) over the object's path."""
        if rng.random() < 0.5:
            w = int(self.plan.occlusion * self.W)
            x0 = int(np.clip(self.centre[0] - w * rng.uniform(0.2, 0.8), 0, self.W - w))
            area = (slice(0, self.H), slice(x0, x0 + w))
        else:
            h = int(self.plan.occlusion * self.H)
            y0 = int(np.clip(self.centre[1] - h * rng.uniform(0.2, 0.8), 0, self.H - h))
            area = (slice(y0, y0 + h), slice(0, self.W))
        return (*area, rng.uniform(40, 200, 3).astype(np.float32))

    def _pose(self, t: float) -> tuple[float, float, float, float]:
        """The object's centre (x, y) in the world, scale and angle at scene time t. Each cycle of a motion speeds
        up (f = x²); a reverse twin runs it backwards in time, slowing down (f = (1 - x)²): a drop becomes a rise,
        an approach a recession — headings a horizontal flip (training's augmentation) keeps."""
        cls, W, H = self.cls, self.W, self.H
        u = t / self.period + self.phase
        x = u % 1.0
        f = (1.0 - x) ** 2 if (cls.cue == "reverse" and cls.variant) else x * x
        cx, cy = self.centre
        reach = 0.3 * min(W, H)
        m = cls.motion
        if m == "orbit":
            return cx + reach * math.cos(2 * np.pi * f), cy + reach * math.sin(2 * np.pi * f), 1.0, 0.0
        if m == "slide":
            return 0.12 * W + 0.76 * W * f, cy, 1.0, 0.0
        if m == "zigzag":
            return 0.12 * W + 0.76 * W * f, cy + 0.5 * reach * (2 * abs((4 * f) % 2 - 1) - 1), 1.0, 0.0
        if m == "wave":
            return 0.12 * W + 0.76 * W * f, cy + 0.5 * reach * math.sin(4 * np.pi * f), 1.0, 0.0
        if m == "drop":
            return cx, 0.15 * H + 0.7 * H * f, 1.0, 0.0
        if m == "approach":
            return cx, cy, 0.55 + 1.0 * f, 0.0
        if m == "spin":
            return cx, cy, 1.0, 180.0 * f
        if m == "bounce":
            return cx + 0.2 * reach * math.sin(2 * np.pi * u / 3), cy + reach * (0.5 - abs(math.sin(np.pi * u))), 1.0, 0.0
        if m in ("up", "down"):
            return cx, (0.1 + 0.8 * (x if m == "down" else 1 - x)) * H, 1.0, 0.0
        if m in ("toward", "away"):
            return cx, cy, 0.5 + 1.1 * (x if m == "toward" else 1 - x), 0.0
        if m == "pulse":
            return cx, cy, 1.0 + 0.4 * math.sin(2 * np.pi * u), 0.0
        return cx + 0.25 * reach * math.sin(6 * np.pi * u), cy, 1.0, 0.0  # shake

    def _paste(self, img: np.ndarray, colour: np.ndarray, alpha: np.ndarray, x: float, y: float, px: float,
               angle: float) -> None:
        n = alpha.shape[0]
        M = cv2.getRotationMatrix2D((n / 2, n / 2), angle, px / n)
        M[:, 2] += (x - n / 2, y - n / 2)
        a = cv2.warpAffine(alpha, M, (self.W, self.H), flags=cv2.INTER_LINEAR)[..., None]
        c = cv2.warpAffine(colour, M, (self.W, self.H), flags=cv2.INTER_LINEAR)
        np.multiply(img, 1 - a, out=img)
        img += c * a

    def frame(self, i: int) -> np.ndarray:
        plan, m = self.plan, self.margin
        t = (i + plan.shift) / float(plan.fps)
        drift = self.pan * (t / max(self.duration, 1e-6) - 0.5)
        amp, phases, freq = self.shake
        off = drift + amp * np.sin(freq * t + phases)
        ox, oy = int(round(m + off[0])), int(round(m + off[1]))
        img = self.bg[oy:oy + self.H, ox:ox + self.W].copy()
        cam = np.array([ox - m, oy - m], np.float32)  # the world moves against the camera
        for d in self.distractors:
            pos = (d["start"] + d["v"] * t) % (self.W, self.H) - cam
            mask = d["mask"]
            self._paste(img, np.broadcast_to(d["colour"], (*mask.shape, 3)).astype(np.float32), mask, *pos,
                        d["size"], 0.0)
        x, y, scale, angle = self._pose(t)
        self._paste(img, self.sprite, self.alpha, x - cam[0], y - cam[1], self.px * scale, angle)
        if self.occluder is not None:
            rows, cols, colour = self.occluder
            img[rows, cols] = colour
        amp, freq = self.flicker
        light = plan.look.brightness * (1 + plan.brightness_shift) * (1 + amp * math.sin(freq * t))
        img = img * light + self.noise[i % self.NOISE_BANK]
        return np.clip(img, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _truth(p: _Params, classes: list[ActionClass], plans: list[ActionPlan]) -> dict:
    names = [c.name for c in classes]
    videos = {}
    for x in plans:
        ambiguity, why = x.ambiguity()
        videos[x.vid] = {"split": x.split, "class": names[x.true_class], "target": x.true_class,
                         "label": names[x.label], "csv_target": x.label, "group": x.group, "fps": float(x.fps),
                         "n_frames": x.n_frames, "speed": round(x.speed, 3), "size": round(x.size, 3),
                         "occlusion": round(x.occlusion, 3), "cue_strength": round(x.cue_strength, 3),
                         "ambiguity": round(ambiguity, 3), "hard_to_read": why}
    params = {k: v for k, v in vars(p).items() if k != "seed"}
    return {
        "layout": "folders",
        "seed": p.seed,
        "params": params,
        "classes": names,
        "pairs": {c.name: {"partner": names[c.partner], "cue": c.cue, "motion": c.motion, "shape": c.shape}
                  for c in classes},
        "videos": videos,
        "flipped": [x.vid for x in plans if x.label != x.true_class],
        "flips": {x.vid: {"true": names[x.true_class], "label": names[x.label], "cause": x.flip.cause}
                  for x in plans if x.flip is not None},
        "duplicates": [[x.source, x.vid] for x in plans if x.source is not None],
        "corrupt": {x.vid: x.corrupt for x in plans if x.corrupt},
    }


def generate_actions(out: str | Path, *, n_train: int = 200, n_test: int = 60, n_classes: int = 10,
                     width: int = 112, height: int = 112, duration_s: tuple[float, float] = (2.5, 4.5),
                     test_duration_s: tuple[float, float] = (2.4, 3.0), fps_range: tuple[float, float] = (24, 30),
                     label_noise: float = 0.0, noise_model: str = "uniform", n_duplicates: int = 0,
                     n_corrupt: int = 0, seed: int = 0, nuisance: float = 1.0,
                     progress: bool = True, workers: int | None = None) -> dict:
    """Write a synthetic action-recognition data set of `n_classes` classes as class folders to `out` and return a
    summary (see the module's docstring). `label_noise` of the readable train videos outside duplicate pairs are
    written to another class's folder by `noise_model` (curation.synth_noise). Built beside `out` and renamed into
    place, as `curation.synth.generate`. `nuisance` in [0, 1] scales everything that is not the class (background
    texture, pan and shake, occluders, distractors; smaller objects): 1 is the world the benchmarks use. Raises
    BadInput for invalid arguments."""
    if not 0.0 <= float(nuisance) <= 1.0:
        raise BadInput(f"nuisance {nuisance} is outside [0, 1]", "use a value from 0 (plain) to 1 (everything)")
    classes = action_classes(n_classes)
    started = time.perf_counter()
    p = _Params(n_train=n_train, n_test=n_test, n_classes=n_classes, width=width, height=height,
                duration_s=tuple(map(float, duration_s)), test_duration_s=tuple(map(float, test_duration_s)),
                fps_range=tuple(map(float, fps_range)), label_noise=float(label_noise), noise_model=noise_model,
                n_duplicates=n_duplicates, n_corrupt=n_corrupt, seed=seed, nuisance=float(nuisance))
    p.check()
    plans = _plan(p, classes)
    out, truth = write_dataset(out, plans, width, height, lambda root: _truth(p, classes, plans), workers, progress)
    return {"out": str(out), "layout": "folders", "n_train": n_train, "n_test": n_test, "classes": truth["classes"],
            "n_flipped": len(truth["flipped"]), "n_duplicates": len(truth["duplicates"]),
            "n_corrupt": len(truth["corrupt"]), "n_frames": sum(x.n_frames for x in plans),
            "seconds": round(time.perf_counter() - started, 2)}
