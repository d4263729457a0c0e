"""CoTracker2's per-frame feature encoder ``fnet`` (Karaev et al. 2023, Sec. 3.1).

A RAFT-style residual CNN with instance norms (no affine parameters): a 7x7 stride-2 stem, four
stages of two residual blocks (strides 1, 2, 2, 2), every stage's output bilinearly resized
(align_corners=True) to 1/stride of the input and concatenated, then a 3x3 and a 1x1 convolution.
Module names follow facebookresearch/co-tracker ``BasicEncoder`` so ``cotracker2.pth`` loads as it
is. Frames are processed independently, so any batching of frames gives the same features.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kinema.eval.backbones.raft_encoder import ResidualBlock as _RaftBlock


def ResidualBlock(in_planes: int, planes: int, stride: int = 1) -> nn.Module:
    """RAFT's residual block with instance norms (no parameters, so the keys are co-tracker's)."""
    return _RaftBlock(in_planes, planes, "instance", stride)


class BasicEncoder(nn.Module):
    """Frames (B, 3, H, W) in [-1, 1] -> features (B, output_dim, H // stride, W // stride)."""

    def __init__(self, output_dim: int = 128, stride: int = 4):
        super().__init__()
        self.stride = stride
        widths = (output_dim // 2, output_dim // 4 * 3, output_dim, output_dim)  # stage widths
        self.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3)
        self.norm1 = nn.InstanceNorm2d(widths[0])
        self.relu1 = nn.ReLU(inplace=True)
        stages, in_planes = [], widths[0]
        for width, stage_stride in zip(widths, (1, 2, 2, 2)):
            stages.append(nn.Sequential(ResidualBlock(in_planes, width, stage_stride), ResidualBlock(width, width)))
            in_planes = width
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.conv2 = nn.Conv2d(sum(widths), output_dim * 2, kernel_size=3, padding=1)
        self.norm2 = nn.InstanceNorm2d(output_dim * 2)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv3 = nn.Conv2d(output_dim * 2, output_dim, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = (x.shape[-2] // self.stride, x.shape[-1] // self.stride)
        x = self.relu1(self.norm1(self.conv1(x)))
        outs = []
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
            outs.append(F.interpolate(x, size, mode="bilinear", align_corners=True))
        x = self.relu2(self.norm2(self.conv2(torch.cat(outs, dim=1))))
        return self.conv3(x)
