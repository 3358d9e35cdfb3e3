"""Clip transforms: one random draw per clip, applied identically to all of its frames.

The train preset is the winning Nexar recipe: rotation ±10°, a scale-crop resized to 224, horizontal flip,
colour jitter 0.3, normalisation with mean 0.45 / std 0.225. Rotation, crop, resize and flip are one affine
warp per frame (OpenCV, on uint8), and jitter plus normalisation are one linear map on the float clip: the
transform is the hot path that keeps a GPU fed, so frames are resampled once and touched few times.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np
import torch

from curation.errors import BadInput

_LUMA = np.array([0.299, 0.587, 0.114])
cv2.setNumThreads(1)  # parallelism comes from DataLoader workers, not from threads inside one clip


@dataclass(frozen=True)
class ClipTransform:
    name: str
    train: bool
    size: int = 224
    rotation_deg: float = 10.0
    crop_area: tuple[float, float] = (0.6, 1.0)  # fraction of the frame the crop covers
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_p: float = 0.5
    jitter: float = 0.3  # brightness, contrast and saturation factors drawn from [1 - j, 1 + j]
    mean: float = 0.45
    std: float = 0.225
    normalize: bool = True  # False: return uint8 and let the consumer call normalize_batch (4× less to move)

    def to_dict(self) -> dict:
        return asdict(self)

    def __call__(self, frames: np.ndarray, generator: torch.Generator | None = None) -> torch.Tensor:
        """(T, H, W, 3) uint8 frames → (C, T, size, size) float32, normalised (uint8 if not `normalize`)."""
        size = (self.size, self.size)
        if self.train:
            warp = self._draw_warp(frames.shape[2], frames.shape[1], generator)
            out = np.stack([cv2.warpAffine(f, warp, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
                            for f in frames])
            if self.jitter:
                colour = self._draw_colour(generator)
                mean_gray = float((out[:, ::4, ::4].reshape(-1, 3) @ _LUMA).mean())  # a 1/16 sample suffices
                matrix = _with_offset(colour, mean_gray)
                for f in out:
                    cv2.transform(f, matrix, dst=f)
        else:
            out = np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames])
        x = torch.from_numpy(out).permute(3, 0, 1, 2).contiguous()  # transpose while still uint8
        return self.normalize_batch(x) if self.normalize else x

    def draw(self, w: int, h: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """One clip's random draw as 16 numbers for `on_device`: the 2×3 warp, the 3×3 colour matrix and the gray
        weight (identity colour without jitter). The same draws as `__call__` makes, in the same order."""
        warp = self._draw_warp(w, h, generator)
        matrix, k = self._draw_colour(generator) if self.jitter else (np.eye(3), 0.0)
        return torch.from_numpy(np.concatenate([warp.ravel(), np.asarray(matrix).ravel(), [k]]).astype(np.float32))

    def on_device(self, frames: torch.Tensor, draws: torch.Tensor | None = None) -> torch.Tensor:
        """The transform applied to a batch on whatever device it is (a GPU: decoded there by nvJPEG):
        (B, T, 3, H, W) uint8 frames and, for the train preset, (B, 16) `draw`s (on the same device) → (B, 3, T, size, size)
        float32, normalised if `normalize`. The warp samples bilinearly like OpenCV's (pixel centres at
        integers, zeros outside); colour is applied in float without OpenCV's intermediate rounding."""
        b, t, c, h, w = frames.shape
        x = frames.reshape(b * t, c, h, w).float()
        if not self.train:
            x = _resize_area(x, self.size)
        else:
            x = torch.nn.functional.grid_sample(x, self._sampling_grid(draws[:, :6].reshape(b, 2, 3), w, h)
                                                .repeat_interleave(t, dim=0), mode="bilinear", padding_mode="zeros",
                                                align_corners=False)
            if self.jitter:
                x = x.reshape(b, t, c, self.size, self.size)
                luma = torch.as_tensor(_LUMA, dtype=x.dtype, device=x.device)
                gray = torch.einsum("btchw,c->bthw", x[..., ::4, ::4], luma).mean(dim=(1, 2, 3))  # as __call__
                matrix, k = draws[:, 6:15].reshape(b, 3, 3), draws[:, 15]
                x = torch.einsum("bij,btjhw->btihw", matrix, x) + (k * gray)[:, None, None, None, None]
                x = x.clamp_(0, 255)
        x = x.reshape(b, t, c, self.size, self.size).permute(0, 2, 1, 3, 4)
        return x.mul(1 / (255 * self.std)).sub_(self.mean / self.std) if self.normalize else x

    def _sampling_grid(self, warps: torch.Tensor, w: int, h: int) -> torch.Tensor:
        """For each output pixel of each clip, where to sample the input, in grid_sample's [-1, 1] units:
        the inverse of the warp (input pixel → output pixel) applied to the output pixel centres."""
        warps = warps.double()
        linear_inv = torch.linalg.inv(warps[:, :, :2])
        ys, xs = torch.meshgrid(torch.arange(self.size, dtype=torch.float64, device=warps.device),
                                torch.arange(self.size, dtype=torch.float64, device=warps.device), indexing="ij")
        out = torch.stack([xs, ys], dim=-1).reshape(1, -1, 2) - warps[:, None, :, 2]
        src = torch.einsum("bij,bnj->bni", linear_inv, out)  # input pixel coordinates
        scale = torch.tensor([2.0 / w, 2.0 / h], dtype=torch.float64, device=warps.device)
        return ((src + 0.5) * scale - 1).reshape(-1, self.size, self.size, 2).float()

    def normalize_batch(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 clips (any leading dims) → normalised float32, on whatever device they are."""
        return x.float().mul_(1 / (255 * self.std)).sub_(self.mean / self.std)

    def _uniform(self, lo: float, hi: float, generator) -> float:
        return lo + (hi - lo) * torch.rand((), generator=generator).item()

    def _draw_warp(self, w: int, h: int, generator) -> np.ndarray:
        """A 2×3 matrix mapping input pixels to output pixels: crop, rotate about its centre, flip, resize."""
        area = self._uniform(*self.crop_area, generator)
        ratio = math.exp(self._uniform(math.log(self.crop_ratio[0]), math.log(self.crop_ratio[1]), generator))
        crop_w, crop_h = min(1.0, math.sqrt(area * ratio)) * w, min(1.0, math.sqrt(area / ratio)) * h
        cx = self._uniform(crop_w / 2, w - crop_w / 2, generator)
        cy = self._uniform(crop_h / 2, h - crop_h / 2, generator)
        angle = math.radians(self._uniform(-self.rotation_deg, self.rotation_deg, generator))
        flip = -1.0 if self._uniform(0, 1, generator) < self.flip_p else 1.0
        # output = S·F·R·(input - centre) + size/2, with S the crop→output scale and F the flip.
        cos, sin = math.cos(angle), math.sin(angle)
        sx, sy = self.size / crop_w * flip, self.size / crop_h
        linear = np.array([[sx * cos, sx * sin], [-sy * sin, sy * cos]])
        shift = np.array([self.size / 2, self.size / 2]) - linear @ np.array([cx, cy])
        return np.hstack([linear, shift[:, None]]).astype(np.float64)

    def _draw_colour(self, generator) -> tuple[np.ndarray, float]:
        """Brightness b, contrast c, saturation s as one colour matrix M and a gray weight k:
        out = M·rgb + k·mean_gray, with M = c·b·(s·I + (1-s)·luma) and k = (1-c)·b (clamped by OpenCV)."""
        lo, hi = 1 - self.jitter, 1 + self.jitter
        b, c, s = (self._uniform(lo, hi, generator) for _ in range(3))
        matrix = c * b * (s * np.eye(3) + (1 - s) * np.tile(_LUMA, (3, 1)))
        return matrix, (1 - c) * b


def _area_weights(n_in: int, n_out: int, device) -> torch.Tensor:
    """(n_out, n_in): each output pixel the mean of the input pixels it covers, fractions counted — OpenCV's
    INTER_AREA when shrinking."""
    scale = n_in / n_out
    edges = torch.arange(n_out + 1, dtype=torch.float64, device=device) * scale
    lo, hi = edges[:-1, None], edges[1:, None]
    j = torch.arange(n_in, dtype=torch.float64, device=device)[None]
    return ((torch.minimum(hi, j + 1) - torch.maximum(lo, j)).clamp(min=0) / scale).float()


def _resize_area(x: torch.Tensor, size: int) -> torch.Tensor:
    """(N, C, H, W) → (N, C, size, size) as cv2.resize(INTER_AREA) does: area averaging to shrink, bilinear to
    grow."""
    h, w = x.shape[-2:]
    if size > h or size > w:
        return torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return _area_weights(h, size, x.device) @ x @ _area_weights(w, size, x.device).T


def _with_offset(colour: tuple[np.ndarray, float], mean_gray: float) -> np.ndarray:
    matrix, k = colour
    return np.hstack([matrix, np.full((3, 1), k * mean_gray)])


PRESETS = {
    "winner": ClipTransform("winner", train=True),
    "light": ClipTransform("light", train=True, rotation_deg=5.0, crop_area=(0.8, 1.0), jitter=0.15),
    "eval": ClipTransform("eval", train=False),
}


def get_preset(name: str, size: int | None = None) -> ClipTransform:
    if name not in PRESETS:
        raise BadInput(f"unknown transform preset {name!r}", f"choose one of: {', '.join(PRESETS)}")
    preset = PRESETS[name]
    if size is not None and size != preset.size:
        preset = ClipTransform(**{**preset.to_dict(), "size": size})
    return preset
