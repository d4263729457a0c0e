"""Convolutional building blocks of the 2D autoencoder (no attention: the receptive field stays
local, which is what makes tiled decoding exact, see ``tiling.py``)."""

from __future__ import annotations

import math

from torch import Tensor, nn

from kinema.models.layers.resnet import Downsample, Upsample  # noqa: F401 - shared with the backbones


class PixelLayerNorm(nn.Module):
    """LayerNorm over channels at each pixel of (N, C, H, W): statistics never leave the pixel."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=1e-6)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # (N,C,H,W) -> (N,H,W,C) -> back


def make_norm(channels: int, norm: str, groups: int) -> nn.Module:
    """``"layer"``: PixelLayerNorm; ``"group"``: GroupNorm with the largest count <= ``groups``
    dividing ``channels``."""
    if norm == "layer":
        return PixelLayerNorm(channels)
    return nn.GroupNorm(math.gcd(channels, groups), channels, eps=1e-6)


class ResBlock(nn.Module):
    """norm -> SiLU -> conv3 -> norm -> SiLU -> conv3, plus a (1x1-projected) skip."""

    def __init__(self, c_in: int, c_out: int, norm: str = "layer", groups: int = 32):
        super().__init__()
        self.body = nn.Sequential(
            make_norm(c_in, norm, groups), nn.SiLU(), nn.Conv2d(c_in, c_out, 3, padding=1),
            make_norm(c_out, norm, groups), nn.SiLU(), nn.Conv2d(c_out, c_out, 3, padding=1),
        )
        self.skip = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.skip(x) + self.body(x)
