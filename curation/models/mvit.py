"""MViTv2-S (torchvision) or a tiny MViT of the same class, with the winning solution's MLP head.

`VideoClassifier(x)` returns (logits, features): features are the backbone's normalised CLS token
(768-d for MViTv2-S), the embedding a run logs per clip.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn
from torchvision.models.video import MViT_V2_S_Weights, mvit_v2_s
from torchvision.models.video.mvit import MSBlockConfig, MViT

from curation.errors import BadInput, exception_line
from curation.fsutil import sha256_file


@dataclass(frozen=True)
class ModelSpec:
    name: str
    input_size: int  # square frames
    frames: int
    feature_dim: int
    params: int  # parameters of the whole classifier (memory of weights, gradients, optimizer state)
    train_mb_per_clip: int  # memory one more clip of a batch takes in a training step (bench/train_memory.py)

    def to_dict(self) -> dict:
        return asdict(self)


MODELS = {
    "mvit_v2_s": ModelSpec("mvit_v2_s", 224, 16, 768, 34_443_521, 1950),
    # Three blocks, 32→64 channels, keys/values pooled hard: a CPU forward+backward in tens of milliseconds.
    "mvit_tiny": ModelSpec("mvit_tiny", 64, 16, 64, 138_126, 40),
}


def _tiny_backbone(spec: ModelSpec) -> MViT:
    blocks = [
        MSBlockConfig(num_heads=1, input_channels=32, output_channels=32, kernel_q=[3, 3, 3], kernel_kv=[3, 3, 3],
                      stride_q=[1, 1, 1], stride_kv=[1, 4, 4]),
        MSBlockConfig(num_heads=2, input_channels=32, output_channels=64, kernel_q=[3, 3, 3], kernel_kv=[3, 3, 3],
                      stride_q=[1, 2, 2], stride_kv=[1, 2, 2]),
        MSBlockConfig(num_heads=2, input_channels=64, output_channels=64, kernel_q=[3, 3, 3], kernel_kv=[3, 3, 3],
                      stride_q=[1, 1, 1], stride_kv=[1, 2, 2]),
    ]
    return MViT(spatial_size=(spec.input_size, spec.input_size), temporal_size=spec.frames, block_setting=blocks,
                residual_pool=True, residual_with_cls_embed=False, rel_pos_embed=True, proj_after_attn=True,
                dropout=0.0, num_classes=1)


def _weights_file(weights) -> Path:
    """Where torch keeps a downloaded weights file (torchvision checks its hash prefix on load)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(weights.url).path).name


def _mvit_v2_s(weights: str, notice) -> tuple[MViT, dict]:
    """The backbone and a record of the weights it really has (what run.json keeps)."""
    if weights == "kinetics400":
        chosen = MViT_V2_S_Weights.KINETICS400_V1
        try:
            backbone = mvit_v2_s(weights=chosen, progress=False)
            path = _weights_file(chosen)
            return backbone, {"requested": weights, "loaded": weights, "url": chosen.url,
                              "sha256": sha256_file(path) if path.exists() else None}
        except Exception as exc:  # offline, no cache, bad download: train from scratch, say so once
            reason = exception_line(exc, 120)
            notice(f"notice: Kinetics-400 weights for mvit_v2_s could not be loaded ({reason}); "
                   "starting from random initialisation")
            return mvit_v2_s(weights=None), {"requested": weights, "loaded": "none", "reason": reason}
    return mvit_v2_s(weights=None), {"requested": weights, "loaded": "none"}


class VideoClassifier(nn.Module):
    def __init__(self, backbone: MViT, feature_dim: int, num_outputs: int):
        super().__init__()
        backbone.head = nn.Identity()  # keep the normalised CLS token as features
        self.backbone = backbone
        hidden = (max(feature_dim // 3, 16), max(feature_dim // 12, 8))  # 768 → 256 → 64, as the winner
        self.head = nn.Sequential(nn.Linear(feature_dim, hidden[0]), nn.GELU(), nn.Dropout(0.2),
                                  nn.Linear(hidden[0], hidden[1]), nn.GELU(), nn.Linear(hidden[1], num_outputs))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.backbone(x)
        return self.head(features), features


def build_model(name: str, num_outputs: int, weights: str = "none", notice=print) -> tuple[VideoClassifier,
                                                                                          ModelSpec, dict]:
    """The model, its spec, and a record of the backbone weights actually loaded (requested, loaded, sha256)."""
    if name not in MODELS:
        raise BadInput(f"unknown model {name!r}", f"choose one of: {', '.join(MODELS)}")
    if weights not in ("none", "kinetics400"):
        raise BadInput(f"unknown weights {weights!r}", "use kinetics400 or none")
    spec = MODELS[name]
    if name == "mvit_v2_s":
        backbone, loaded = _mvit_v2_s(weights, notice)
    else:
        if weights != "none":
            notice(f"notice: no pretrained weights exist for {name}; starting from random initialisation")
        backbone, loaded = _tiny_backbone(spec), {"requested": weights, "loaded": "none"}
    return VideoClassifier(backbone, spec.feature_dim, num_outputs), spec, loaded
