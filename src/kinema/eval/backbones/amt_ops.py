"""Small operations shared by AMT's blocks (Li et al. 2023, "AMT: All-Pairs Multi-Field Transforms
for Efficient Frame Interpolation"): bilinear rescaling, backward warping, conv + PReLU.

Numerical details follow the AMT code VBench vendors (``vbench/third_party/amt``): rescaling is
bilinear with ``align_corners=False`` and a scale factor (not a size); warping samples with
``align_corners=True`` and border padding, the flow being converted to grid units by ``(W - 1) / 2``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def resize(x: torch.Tensor, scale_factor: float) -> torch.Tensor:
    """Bilinear rescaling of (B, C, H, W) by ``scale_factor`` (``align_corners=False``)."""
    return F.interpolate(x, scale_factor=scale_factor, mode="bilinear", align_corners=False)


def warp(img: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warp: output(p) = img(p + flow(p)); img (B, C, H, W), flow (B, 2, H, W) in pixels (x, y)."""
    B, _, H, W = flow.shape
    xx = torch.linspace(-1.0, 1.0, W).view(1, 1, 1, W).expand(B, -1, H, -1)
    yy = torch.linspace(-1.0, 1.0, H).view(1, 1, H, 1).expand(B, -1, -1, W)
    grid = torch.cat([xx, yy], 1).to(img)  # (B, 2, H, W), identity sampling grid in [-1, 1]
    flow_ = torch.cat([flow[:, 0:1] / ((W - 1.0) / 2.0), flow[:, 1:2] / ((H - 1.0) / 2.0)], 1)
    grid_ = (grid + flow_).permute(0, 2, 3, 1)  # (B, H, W, 2)
    return F.grid_sample(input=img, grid=grid_, mode="bilinear", padding_mode="border", align_corners=True)


def convrelu(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
             padding: int = 1) -> nn.Sequential:
    """Conv2d followed by a per-channel PReLU (keys ``0.weight``, ``0.bias``, ``1.weight``)."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=True),
                         nn.PReLU(out_channels))
