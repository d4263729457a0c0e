"""VBench's AMT-S frame pipeline for motion smoothness (Vchitect/VBench ``vbench/motion_smoothness.py``).

For each pair of kept frames VBench runs, in float32:

1. ``img2tensor``: uint8 RGB (H, W, 3) -> (1, 3, H, W) ``/ 255.0``;
2. a rescaling factor from the frame area (:func:`vbench_scale`; 1 for any frame under 67 Mpx)
   and ``InputPadder(divisor=int(16 / scale))``: replicate padding to a multiple of 16, split
   evenly with the odd pixel at the bottom / right (:class:`AmtPadder`);
3. the network at ``embt = 0.5`` with ``scale_factor=scale`` (output clamped to [0, 1]);
4. unpadding, then ``tensor2img``: ``x * 255``, clipped to [0, 255] and *truncated* to uint8.

VBench feeds one pair at a time, and so does :class:`AmtInterpolator` by default, which makes its
output bit-identical to VBench's on the same device. ``batch_size > 1`` is faster (every operation
of the network is per pair) but the convolutions then round differently, by ~1e-6, which flips an
occasional uint8 value by 1 (4 of 166k values in a 3-pair test).

VBench's rescaling rule has a VRAM-based branch for ``device == 'cuda'``; its ``evaluate.py``
passes ``torch.device("cuda")``, which does not compare equal to the string, so the branch kinema
reproduces is the other one (anchor 8192 x 8192 px, no VRAM term).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from kinema.errors import InputError
from kinema.eval.backbones.amt import WEIGHT_ID

EMBT = 0.5  # the middle frame
ANCHOR_RESOLUTION = 8192 * 8192  # VBench's pixel budget before it shrinks frames (non-'cuda' branch)
PAD_DIVISOR = 16  # at scale 1


def vbench_scale(h: int, w: int) -> float:
    """VBench's network rescaling factor for (unpadded) H x W frames: 1 unless H W > 8192^2, then
    ``16 / floor(16 / sqrt(8192^2 / (H W)))``."""
    scale = ANCHOR_RESOLUTION / (h * w)  # VBench's VRAM term is sqrt((1 - 0) / 1) = 1 on this branch
    scale = min(scale, 1)
    return float(1 / np.floor(1 / np.sqrt(scale) * 16) * 16)


class AmtPadder:
    """Replicate-pad (..., H, W) to multiples of ``divisor`` (split evenly, odd pixel bottom/right), and crop back."""

    def __init__(self, size: tuple[int, int], divisor: int = PAD_DIVISOR):
        self.ht, self.wd = size
        pad_ht, pad_wd = (-self.ht) % divisor, (-self.wd) % divisor
        self._pad = [pad_wd // 2, pad_wd - pad_wd // 2, pad_ht // 2, pad_ht - pad_ht // 2]  # left, right, top, bottom

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self._pad, mode="replicate")

    def unpad(self, x: torch.Tensor) -> torch.Tensor:
        left, _, top, _ = self._pad
        return x[..., top:top + self.ht, left:left + self.wd]


def to_unit_frames(frames, name: str) -> torch.Tensor:
    """uint8 (N, H, W, 3) numpy or torch -> float32 (N, 3, H, W) in [0, 1] (VBench's ``img2tensor``)."""
    x = frames if torch.is_tensor(frames) else torch.from_numpy(np.ascontiguousarray(frames))
    if x.dtype != torch.uint8 or x.ndim != 4 or x.shape[-1] != 3:
        raise InputError(f"{name} must be uint8 frames (N, H, W, 3), got {x.dtype} {tuple(x.shape)}")
    # contiguous NCHW, as VBench's padded frames are: a channels-last layout makes the convolutions
    # round differently (~1e-6), enough to flip a few uint8 outputs
    return (x.permute(0, 3, 1, 2) / 255.0).contiguous()


def quantise(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] float (N, 3, H, W) -> uint8 (N, H, W, 3): ``x * 255`` clipped and truncated (``tensor2img``)."""
    return (x * 255.0).clamp(0, 255).permute(0, 2, 3, 1).to(torch.uint8)


class AmtInterpolator:
    """VBench's ``interpolate`` role: uint8 pairs (N, H, W, 3) x 2 -> uint8 middle frames (N, H, W, 3)."""

    backbone_id = WEIGHT_ID
    preprocessing = ("uint8 RGB / 255 (float32); replicate pad to a multiple of 16 (split evenly, odd pixel "
                     "bottom/right); AMT-S at t=0.5, scale_factor 1 (frames under 8192^2 px), output clamped "
                     "to [0, 1]; unpad; x 255, clip [0, 255], truncate to uint8")

    def __init__(self, model, batch_size: int = 1, device: str | torch.device | None = None):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch_size={batch_size!r} must be a positive integer")
        self.model, self.batch_size = model, batch_size
        self.device = torch.device(device) if device is not None else next(model.parameters()).device

    @torch.no_grad()
    def __call__(self, frames0, frames1) -> torch.Tensor:
        x0, x1 = to_unit_frames(frames0, "frames0"), to_unit_frames(frames1, "frames1")
        if x0.shape != x1.shape:
            raise InputError(f"frames0 and frames1 differ in shape: {tuple(x0.shape)} vs {tuple(x1.shape)}")
        scale = vbench_scale(*x0.shape[-2:])
        padder = AmtPadder(tuple(x0.shape[-2:]), divisor=int(PAD_DIVISOR / scale))
        embt = torch.tensor(EMBT, dtype=torch.float32, device=self.device).view(1, 1, 1, 1)
        out = []
        for i in range(0, x0.shape[0], self.batch_size):
            a, b = (padder.pad(x[i:i + self.batch_size].to(self.device)) for x in (x0, x1))  # (n, 3, H16, W16)
            out.append(quantise(padder.unpad(self.model(a, b, embt, scale_factor=scale)).cpu()))
        return torch.cat(out) if out else torch.zeros(x0.shape[0], *x0.shape[2:], 3, dtype=torch.uint8)
