"""RAFT's feature and context encoders (Teed & Deng 2020, Sec. 3.1 and Appendix, Fig. 13).

Both are the same residual CNN: a 7x7 stride-2 convolution with 64 channels, three stages of two
residual blocks (64, 96 and 128 channels; stride 1, 2, 2) and a 1x1 output convolution, so an image
(B, 3, H, W) becomes a map (B, D, H/8, W/8). The feature encoder ``fnet`` uses instance
normalisation and D = 256; the context encoder ``cnet`` uses batch normalisation (running
statistics at test time) and D = 256 = hidden state (128) + context (128).

Sub-module names follow princeton-vl/RAFT (``core/extractor.py``) so that ``raft-things.pth`` loads
as saved. In a strided block the shortcut's norm is registered twice, as ``norm3`` and as
``downsample.1``; the weight file holds both names, so kinema keeps the alias.
"""

from __future__ import annotations

import torch
from torch import nn

from kinema.config import check_choice

NORMS = ("instance", "batch")


def make_norm(kind: str, channels: int) -> nn.Module:
    """Instance norm (no affine parameters, as in RAFT's feature encoder) or batch norm."""
    check_choice("RAFT encoder norm", kind, NORMS)
    return nn.InstanceNorm2d(channels) if kind == "instance" else nn.BatchNorm2d(channels)


class ResidualBlock(nn.Module):
    """Two 3x3 conv-norm-ReLU layers plus a (1x1 strided conv + norm) shortcut when stride > 1."""

    def __init__(self, in_planes: int, planes: int, norm: str, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, padding=1, stride=stride)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.norm1 = make_norm(norm, planes)
        self.norm2 = make_norm(norm, planes)
        self.downsample = None
        if stride != 1:
            self.norm3 = make_norm(norm, planes)
            self.downsample = nn.Sequential(nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride), self.norm3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.norm1(self.conv1(x)))
        y = self.relu(self.norm2(self.conv2(y)))
        if self.downsample is not None:
            x = self.downsample(x)
        return self.relu(x + y)


class BasicEncoder(nn.Module):
    """(B, 3, H, W) in [-1, 1] -> (B, output_dim, H/8, W/8); H and W must be multiples of 8."""

    def __init__(self, output_dim: int = 256, norm: str = "batch"):
        super().__init__()
        self.norm1 = make_norm(norm, 64)  # registered before conv1, like the original (state-dict order)
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.relu1 = nn.ReLU(inplace=True)
        self.layer1 = self._stage(64, 64, norm, stride=1)  # H/2
        self.layer2 = self._stage(64, 96, norm, stride=2)  # H/4
        self.layer3 = self._stage(96, 128, norm, stride=2)  # H/8
        self.conv2 = nn.Conv2d(128, output_dim, kernel_size=1)

    @staticmethod
    def _stage(in_planes: int, planes: int, norm: str, stride: int) -> nn.Sequential:
        return nn.Sequential(ResidualBlock(in_planes, planes, norm, stride), ResidualBlock(planes, planes, norm, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu1(self.norm1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.conv2(x)
