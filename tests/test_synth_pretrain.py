"""The tiny model's generic pretraining stream (curation.synth_pretrain)."""
from __future__ import annotations

import numpy as np
import torch

from curation.synth_actions import ROUND, SHAPES
from curation.synth_pretrain import (HEADINGS, MOTIONS, PATTERNS, RATE_CENTRE, RATE_SCALE, attribute_heads, clip_batch,
                                     render_clip)


def test_a_rendered_clip_moves_and_a_seed_renders_the_same_clip():
    clip, labels = render_clip(np.random.default_rng(5), MOTIONS, nuisance=0.5)
    again, same = render_clip(np.random.default_rng(5), MOTIONS, nuisance=0.5)
    assert clip.shape == (16, 64, 64, 3) and clip.dtype == np.uint8
    assert np.array_equal(clip, again) and labels == same
    assert np.abs(clip[-1].astype(float) - clip[0]).mean() > 1.0  # something moved
    assert set(labels) == {"motion", "shape", "pattern", "rate"}


def test_the_rate_label_spreads_about_unit_scale_over_the_periods_a_scene_draws():
    """Periods of 0.9-4 s (a scene's own 1.4-2.2 s over speeds of 0.55-1.6): centred and scaled, a regression
    target of about unit spread."""
    rng = np.random.default_rng(3)
    rates = np.array([render_clip(rng, MOTIONS, nuisance=0.0)[1]["rate"] for _ in range(60)])
    periods = 2.0 ** -(rates * RATE_SCALE + RATE_CENTRE)  # seconds a cycle, back from the label
    assert -0.7 < rates.mean() < 0.7 and 0.5 < rates.std() < 1.5
    assert 0.85 < periods.min() and periods.max() < 4.05


def test_labels_cover_every_attribute_and_a_spin_is_never_of_a_round_shape():
    rng = np.random.default_rng(0)
    seen = [render_clip(rng, MOTIONS, nuisance=None)[1] for _ in range(120)]
    assert {s["motion"] for s in seen} == set(range(len(MOTIONS)))
    assert {s["pattern"] for s in seen} == set(range(len(PATTERNS)))
    assert len({s["shape"] for s in seen}) == len(SHAPES)
    spins = [s for s in seen if MOTIONS[s["motion"]] == "spin"]
    assert spins and all(SHAPES[s["shape"]] not in ROUND for s in spins)


def test_heads_and_a_normalised_batch():
    assert attribute_heads(HEADINGS) == {"motion": 4}
    assert attribute_heads(MOTIONS) == {"motion": len(MOTIONS), "shape": len(SHAPES), "pattern": len(PATTERNS)}
    x, labels = clip_batch(np.random.default_rng(1), 3, HEADINGS, nuisance=0.3)
    assert x.shape == (3, 3, 16, 64, 64) and abs(float(x.mean())) < 1.5
    assert set(labels) == {"motion", "shape", "pattern", "rate"} and int(labels["motion"].max()) < len(HEADINGS)
    assert labels["rate"].dtype == torch.float32 and labels["motion"].dtype == torch.int64
