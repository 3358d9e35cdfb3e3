"""scripts/pretrain_tiny.py's motion stages: the rate output, a head fitted alone, and resuming from stage two."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import load_script
from curation.models.mvit import build_model
from curation.synth_pretrain import MOTIONS, attribute_heads

SCRIPT = Path(__file__).parent.parent / "scripts" / "pretrain_tiny.py"


@pytest.fixture(scope="module")
def script():
    return load_script(SCRIPT)


def test_fitting_the_head_alone_leaves_the_backbone_as_it_was(script):
    heads = attribute_heads(MOTIONS)
    torch.manual_seed(0)
    model, _, _ = build_model("mvit_tiny", sum(heads.values()) + 1, channels_last_pooling=False)
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    head_before = [p.clone() for p in model.head.parameters()]
    stage = {"motions": MOTIONS, "nuisance": 0.5}
    script.fit_head(model, 2, stage, heads, True, np.random.default_rng(0))
    assert all(torch.equal(before[k], v) for k, v in model.backbone.state_dict().items())
    assert any(not torch.equal(a, b) for a, b in zip(head_before, model.head.parameters()))


def test_the_rate_stage_trains_every_output_and_reports_the_rate(script, monkeypatch):
    monkeypatch.setattr(script, "VAL_CLIPS", 16)
    stage = script.STAGES[2]  # the packaged third stage: 4,000 steps, its head alone first for 1,000
    backbone, history = script.run_stage(stage, None, steps_scale=0.003)  # 12 steps, 3 of the head alone
    assert history[-1]["step"] == 12 and set(history[-1]["val_accuracy"]) == {"motion", "shape", "pattern", "rate_r"}
    assert np.isfinite(history[-1]["val_accuracy"]["rate_r"])
    model, _, _ = build_model("mvit_tiny", 1)
    assert set(backbone) == set(model.backbone.state_dict())


def test_resuming_needs_the_file_stage_two_made(script, tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {}, "history": {}}, other)
    with pytest.raises(SystemExit, match="not the file the first two stages make"):
        script.stage_two(other, 1.0)
