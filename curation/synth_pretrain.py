"""The tiny model's generic pretraining task: clips of one object moving on random backgrounds, labelled with what
it does and what it looks like — never with an action class or a Nexar label.

Clips are rendered on the fly (no video files), so a pretraining run never sees a clip twice and cannot memorise.
Each clip carries four labels: three classes, one head each (`attribute_heads`), and a rate (one regressed output):

- motion: one of `MOTIONS` (which way it travels, grows or shrinks, spins, circles, shakes, pulses);
- shape: one of the action generator's shapes;
- pattern: plain, striped or marked (a dot off centre);
- rate: how fast the motion runs, log2 of its cycles a second (what a clip shows, unlike the plan's `speed`, whose
  effect is scaled by each scene's own period), centred and scaled to about unit spread: a regression target.

The scene is the action generator's (`curation.synth_actions`): background textures, camera pan and shake,
flicker, distractor shapes, an occluder, each scaled by a `nuisance` drawn per clip. No left or right headings:
training's horizontal flips would swap them. What the start saw is in `scripts/pretrain_tiny.py` and
docs/commands.md (Train).
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import torch

from curation.data.transforms import ClipTransform
from curation.synth_actions import (CUE_STRENGTH, OCCLUSION, PALETTE, ROUND, SHAPES, SIZE, ActionClass, ActionPlan,
                                    draw_look)

HEADINGS = ("up", "down", "toward", "away")
MOTIONS = HEADINGS + ("spin", "orbit", "shake", "pulse")
PATTERNS = (("plain", "mark", 0), ("striped", "stripes", 1), ("marked", "mark", 1))  # name, cue drawn, its variant
CLIP_FRAMES, CLIP_SECONDS, RENDER = 16, 2.0, 72  # rendered at 72 px and cropped to the model's 64
RATE_CENTRE, RATE_SCALE = -0.76, 0.5  # log2 cycles a second: periods of 0.9-4 s give about -2 to 0.2
_NORMALISE = ClipTransform("pretrain", train=False)  # training's mean and std


def attribute_heads(motions: tuple[str, ...]) -> dict[str, int]:
    """The heads a task trains and their class counts: motion alone for the heading stage, all three after."""
    if motions == HEADINGS:
        return {"motion": len(motions)}
    return {"motion": len(motions), "shape": len(SHAPES), "pattern": len(PATTERNS)}


def render_clip(rng: np.random.Generator, motions: tuple[str, ...], nuisance: float | None,
                size: int = 64) -> tuple[np.ndarray, dict[str, int]]:
    """One (CLIP_FRAMES, size, size, 3) uint8 clip and its labels (the rate a float, the rest class indices).
    `nuisance` None draws it per clip in [0, 1]."""
    nuis = float(rng.uniform(0, 1)) if nuisance is None else float(nuisance)
    motion, shape, pattern = (int(rng.integers(len(motions))), int(rng.integers(len(SHAPES))),
                              int(rng.integers(len(PATTERNS))))
    if motions[motion] == "spin" and SHAPES[shape] in ROUND:  # a spinning disc would look still
        shape = int(rng.choice([i for i, s in enumerate(SHAPES) if s not in ROUND]))
    _, cue, variant = PATTERNS[pattern]
    fps = Fraction(int(rng.integers(24, 31)))
    n_frames = int(fps * (CLIP_SECONDS + 1))
    occluded = rng.random() < 0.3 * nuis
    plan = ActionPlan("pretrain", "train", 0, 0, 0, draw_look(rng),
                      fps, n_frames, speed=float(rng.uniform(0.55, 1.6)), background_seed=int(rng.integers(2**62)),
                      object_colour=PALETTE[rng.integers(len(PALETTE))] + rng.uniform(-15, 15, 3),
                      size=float(rng.uniform(*SIZE)), occlusion=float(rng.uniform(*OCCLUSION)) if occluded else 0.0,
                      cue_strength=float(rng.uniform(*CUE_STRENGTH)), motion_seed=int(rng.integers(2**62)),
                      noise_seed=int(rng.integers(2**62)),
                      classes=[ActionClass("pretrain", motions[motion], "any", cue, variant, 0)], nuisance=nuis,
                      shape=SHAPES[shape])
    scene = plan.scene(RENDER, RENDER)
    stride = max(1, round(float(fps) * CLIP_SECONDS / (CLIP_FRAMES - 1)))
    start = int(rng.integers(0, n_frames - (CLIP_FRAMES - 1) * stride))
    frames = np.stack([scene.frame(start + k * stride) for k in range(CLIP_FRAMES)])
    y, x = rng.integers(0, RENDER - size + 1, 2)
    frames = frames[:, y:y + size, x:x + size]
    if rng.random() < 0.5:
        frames = frames[:, :, ::-1]
    rate = (np.log2(1.0 / scene.period) - RATE_CENTRE) / RATE_SCALE
    return np.ascontiguousarray(frames), {"motion": motion, "shape": shape, "pattern": pattern, "rate": float(rate)}


def clip_batch(rng: np.random.Generator, n: int, motions: tuple[str, ...], nuisance: float | None,
               ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """n clips as a (n, 3, T, 64, 64) float tensor normalised as training's transforms do, and their labels, one
    tensor per attribute (the rate float32)."""
    clips, labels = zip(*(render_clip(rng, motions, nuisance) for _ in range(n)))
    x = _NORMALISE.normalize_batch(torch.from_numpy(np.stack(clips)).permute(0, 4, 1, 2, 3))
    return x, {k: torch.tensor([y[k] for y in labels], dtype=torch.float32 if k == "rate" else None) for k in labels[0]}
