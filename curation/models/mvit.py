"""MViTv2-S (torchvision) or a tiny MViT of the same class, with the winning solution's MLP head (or one linear
layer for classes: `head_for`).

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
from curation.models import HEADS


@dataclass(frozen=True)
class ModelSpec:
    name: str
    input_size: int  # square frames
    frames: int
    feature_dim: int
    train_mb_per_clip: int  # memory one more clip of a batch takes in a training step (bench/train_memory.py)

    def to_dict(self) -> dict:
        return asdict(self)


MODELS = {
    "mvit_v2_s": ModelSpec("mvit_v2_s", 224, 16, 768, 1950),
    # Three blocks, 32→64 channels on 8×8-px patches: a CPU training step on 8 clips in ~0.14 s.
    "mvit_tiny": ModelSpec("mvit_tiny", 64, 16, 64, 40),
}


# The tiny model's pretrained backbone (scripts/pretrain_tiny.py --task motion: a generic task on rendered clips —
# an object's motion, shape, pattern and then also its rate on random backgrounds, seeds no demo, test or benchmark
# uses; neither world's decision), loaded like any weights file: `--weights <this path>`.
TINY_WEIGHTS = Path(__file__).parent / "weights" / "mvit_tiny_synth.pt"
TINY_WEIGHTS_SHA256 = "a5f4ec6439907015748efcc2883463ed6e56d1721a7837460882bf24c44565e7"


def _tiny_backbone(spec: ModelSpec) -> MViT:
    """8×8-px patches (8×8×8 tokens from a 16×64×64 clip): a CPU training step on 8 clips takes ~0.14 s, against
    ~0.44 s with MViTv2-S's 4×4 patches (bench/README.md, recipe.py)."""
    blocks = [
        MSBlockConfig(num_heads=1, input_channels=32, output_channels=32, kernel_q=[3, 3, 3], kernel_kv=[3, 3, 3],
                      stride_q=[1, 1, 1], stride_kv=[1, 2, 2]),
        MSBlockConfig(num_heads=2, input_channels=32, output_channels=64, kernel_q=[3, 3, 3], kernel_kv=[3, 3, 3],
                      stride_q=[1, 2, 2], stride_kv=[1, 1, 1]),
        MSBlockConfig(num_heads=2, input_channels=64, output_channels=64, kernel_q=[3, 3, 3], kernel_kv=[3, 3, 3],
                      stride_q=[1, 1, 1], stride_kv=[1, 1, 1]),
    ]
    return MViT(spatial_size=(spec.input_size, spec.input_size), temporal_size=spec.frames, block_setting=blocks,
                residual_pool=True, residual_with_cls_embed=False, rel_pos_embed=True, proj_after_attn=True,
                dropout=0.0, num_classes=1, patch_embed_kernel=(3, 8, 8), patch_embed_stride=(2, 8, 8),
                patch_embed_padding=(1, 0, 0))


def _weights_file(weights) -> Path:
    """Where torch keeps a downloaded weights file (torchvision checks its hash prefix on load)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(weights.url).path).name


def _mvit_v2_s(weights: str, notice, requested: str) -> tuple[MViT, dict]:
    """The backbone and a record of the weights it really has (what run.json keeps). Kinetics-400 weights that
    cannot be loaded are an error when asked for by name; the default (`pretrained`) starts from random
    initialisation instead and says so once."""
    if weights == "kinetics400":
        chosen = MViT_V2_S_Weights.KINETICS400_V1
        try:
            backbone = mvit_v2_s(weights=chosen, progress=False)
            path = _weights_file(chosen)
            return backbone, {"requested": requested, "loaded": weights, "url": chosen.url,
                              "sha256": sha256_file(path) if path.exists() else None}
        except Exception as exc:  # offline, no cache, bad download
            reason = exception_line(exc, 120)
            if requested == "kinetics400":
                raise BadInput(f"Kinetics-400 weights for mvit_v2_s could not be loaded ({reason})",
                               f"put the file from {chosen.url} at {_weights_file(chosen)} (where torchvision keeps "
                               "it), or give the path of a weights file, or train from scratch with weights none"
                               ) from None
            notice(f"notice: Kinetics-400 weights for mvit_v2_s could not be loaded ({reason}); "
                   "starting from random initialisation")
            return mvit_v2_s(weights=None), {"requested": requested, "loaded": "none", "reason": reason}
    return mvit_v2_s(weights=None), {"requested": requested, "loaded": "none"}


def head_for(head: str, num_outputs: int) -> str:
    """The head a model gets: `mlp` (the Nexar winner's, 768 → 256 → 64 for MViTv2-S, 64 → 21 → 8 for the tiny
    model) or `linear` (one layer). `auto`: the MLP for one output (binary, where the winner chose it), one linear
    layer for classes — the tiny model's MLP read ten actions at val 0.57–0.72 where one linear layer read
    0.82–0.83, and a wider MLP 0.66 (bench/README.md, issue 41 session 5)."""
    if head not in HEADS:
        raise BadInput(f"unknown head {head!r}", f"choose one of: {', '.join(HEADS)}")
    if head != "auto":
        return head
    return "mlp" if num_outputs == 1 else "linear"


def _channels_last_on_cpu(conv: nn.Conv3d, args: tuple) -> tuple | None:
    """A forward pre-hook: the input of a depthwise 3D convolution in channels-last layout when on the CPU, where
    oneDNN's depthwise kernels are several times faster in it (the attention pooling's backward was half of a tiny
    model's training step: bench/train_step.py). The same values either way."""
    x = args[0]
    if x.device.type == "cpu":
        return (x.contiguous(memory_format=torch.channels_last_3d),) + args[1:]
    return None


class VideoClassifier(nn.Module):
    def __init__(self, backbone: MViT, feature_dim: int, num_outputs: int, head: str = "mlp",
                 channels_last_pooling: bool = True):
        super().__init__()
        backbone.head = nn.Identity()  # keep the normalised CLS token as features
        if channels_last_pooling:
            for module in backbone.modules():
                if isinstance(module, nn.Conv3d) and module.groups > 1:  # the attention's pooling
                    module.register_forward_pre_hook(_channels_last_on_cpu)
        self.backbone = backbone
        self.head_kind = head
        if head == "linear":
            self.head = nn.Linear(feature_dim, num_outputs)
        else:
            hidden = (max(feature_dim // 3, 16), max(feature_dim // 12, 8))  # 768 → 256 → 64, as the winner
            self.head = nn.Sequential(nn.Linear(feature_dim, hidden[0]), nn.GELU(), nn.Dropout(0.2),
                                      nn.Linear(hidden[0], hidden[1]), nn.GELU(), nn.Linear(hidden[1], num_outputs))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.backbone(x)
        return self.head(features), features


def build_model(name: str, num_outputs: int, weights: str = "none", notice=print, head: str = "mlp",
                channels_last_pooling: bool = True) -> tuple[VideoClassifier, ModelSpec, dict]:
    """The model, its spec, and a record of the backbone weights actually loaded (requested, loaded, sha256).
    `weights`: pretrained (kinetics400 for MViTv2-S, the packaged synthetic backbone for the tiny model), none,
    kinetics400, or a file of backbone weights (`load_backbone_file`). `head`: see `head_for`.
    `channels_last_pooling`: see `_channels_last_on_cpu`; off, a CPU backward sums in the order it did before it
    (to remake the packaged weights bit for bit)."""
    if name not in MODELS:
        raise BadInput(f"unknown model {name!r}", f"choose one of: {', '.join(MODELS)}")
    spec = MODELS[name]
    head = head_for(head, num_outputs)
    requested = weights
    if weights == "pretrained":  # each model's usual starting point
        weights = "kinetics400" if name == "mvit_v2_s" else _packaged_tiny_weights()
    if weights not in ("none", "kinetics400"):
        backbone = _tiny_backbone(spec) if name == "mvit_tiny" else mvit_v2_s(weights=None)
        loaded = load_backbone_file(backbone, weights, name)
    elif name == "mvit_v2_s":
        backbone, loaded = _mvit_v2_s(weights, notice, requested)
    elif weights == "kinetics400":
        raise BadInput(f"no Kinetics-400 weights exist for {name}",
                       "use pretrained (its packaged synthetic backbone), none, or the path of a weights file")
    else:
        backbone, loaded = _tiny_backbone(spec), {"requested": weights, "loaded": "none"}
    return VideoClassifier(backbone, spec.feature_dim, num_outputs, head, channels_last_pooling), spec, loaded


def _packaged_tiny_weights() -> str:
    """The path of the tiny model's pretrained backbone, checked against the sha256 it was made with."""
    if not TINY_WEIGHTS.is_file() or sha256_file(TINY_WEIGHTS) != TINY_WEIGHTS_SHA256:
        raise BadInput(f"the tiny model's pretrained weights ({TINY_WEIGHTS}) are missing or not the file released "
                       "with this version", "reinstall curate, or remake them with scripts/pretrain_tiny.py "
                       "(or train from scratch: weights none)")
    return str(TINY_WEIGHTS)


def load_backbone_file(backbone: MViT, weights: str, name: str) -> dict:
    """Backbone weights from a file a user (or `scripts/pretrain_tiny.py`) saved: a state dict of the backbone,
    of a whole `VideoClassifier` (its `backbone.` entries), or `{"state_dict": ...}`. Every backbone tensor must
    be there with its shape: a file for another model is refused, never half loaded. The head starts new."""
    path = Path(weights).expanduser()
    if not path.is_file():
        raise BadInput(f"weights {weights!r} are neither kinetics400, none nor a file",
                       "give kinetics400, none, or the path of a weights file (.pt)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise BadInput(f"{path} is not a weights file torch can read ({exception_line(exc, 120)})",
                       "give a .pt file saved with torch.save(model.state_dict(), path)") from None
    state = state.get("state_dict", state) if isinstance(state, dict) else {}
    state = {k.removeprefix("backbone."): v for k, v in state.items() if isinstance(v, torch.Tensor)}
    own = {k: v for k, v in backbone.state_dict().items() if not k.startswith("head.")}
    missing = [k for k, v in own.items() if k not in state or state[k].shape != v.shape]
    if missing:
        raise BadInput(f"{path} does not fit {name}: {len(missing)} of its {len(own)} backbone tensors are missing or "
                       f"shaped otherwise (e.g. {missing[0]})", f"use weights saved from a {name} model")
    backbone.load_state_dict({k: state[k] for k in own}, strict=False)
    return {"requested": weights, "loaded": str(path), "sha256": sha256_file(path)}
