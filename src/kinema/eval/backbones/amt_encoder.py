"""AMT's two encoders (Li et al. 2023, Sec. 3.1).

* :class:`SmallEncoder` — the correlation feature encoder g (RAFT-small style, instance norm,
  bottleneck residual blocks): (B, 3, H, W) -> (B, D, H/8, W/8) features whose dot products form
  the all-pairs correlation volume.
* :class:`PyramidEncoder` — the IFRNet-style context pyramid: four stride-2 stages
  (conv + PReLU twice each), giving features at 1/2, 1/4, 1/8 and 1/16 resolution that the
  decoders warp and refine.

Module names equal those of ``vbench/third_party/amt/networks/blocks/{feat_enc,ifrnet}.py`` so the
released ``amt-s.pth`` loads directly (instance norm has no parameters, so its modules add no keys).
"""

from __future__ import annotations

import torch
from torch import nn

from kinema.eval.backbones.amt_ops import convrelu


class BottleneckBlock(nn.Module):
    """1x1 -> 3x3 (strided) -> 1x1 convs with instance norm and ReLU, plus a (projected) shortcut."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes // 4, kernel_size=1, padding=0)
        self.conv2 = nn.Conv2d(planes // 4, planes // 4, kernel_size=3, padding=1, stride=stride)
        self.conv3 = nn.Conv2d(planes // 4, planes, kernel_size=1, padding=0)
        self.relu = nn.ReLU(inplace=True)
        self.norm1, self.norm2 = nn.InstanceNorm2d(planes // 4), nn.InstanceNorm2d(planes // 4)
        self.norm3 = nn.InstanceNorm2d(planes)
        self.downsample = None
        if stride != 1:
            self.norm4 = nn.InstanceNorm2d(planes)
            self.downsample = nn.Sequential(nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride), self.norm4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.norm1(self.conv1(x)))
        y = self.relu(self.norm2(self.conv2(y)))
        y = self.relu(self.norm3(self.conv3(y)))
        if self.downsample is not None:
            x = self.downsample(x)
        return self.relu(x + y)


class SmallEncoder(nn.Module):
    """Correlation features: 7x7/2 conv (32), bottleneck stages 32, 64/2, 96/2, 1x1 conv to ``output_dim``.

    ``forward`` takes a list of same-shaped frames, encodes them as one batch and returns one
    (B, output_dim, H/8, W/8) map per frame (AMT-S: 84 channels).
    """

    def __init__(self, output_dim: int = 84):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=7, stride=2, padding=3)
        self.norm1 = nn.InstanceNorm2d(32)
        self.relu1 = nn.ReLU(inplace=True)
        self.layer1 = self._stage(32, 32, stride=1)
        self.layer2 = self._stage(32, 64, stride=2)
        self.layer3 = self._stage(64, 96, stride=2)
        self.conv2 = nn.Conv2d(96, output_dim, kernel_size=1)

    @staticmethod
    def _stage(in_planes: int, planes: int, stride: int) -> nn.Sequential:
        return nn.Sequential(BottleneckBlock(in_planes, planes, stride), BottleneckBlock(planes, planes, 1))

    def forward(self, frames: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        batch = frames[0].shape[0]
        x = torch.cat(frames, dim=0)  # (len(frames) * B, 3, H, W)
        x = self.relu1(self.norm1(self.conv1(x)))  # (., 32, H/2, W/2)
        x = self.layer3(self.layer2(self.layer1(x)))  # (., 96, H/8, W/8)
        return torch.split(self.conv2(x), [batch] * len(frames), dim=0)


class PyramidEncoder(nn.Module):
    """Context pyramid: stage k (``pyramid{k}``) halves the resolution and outputs ``channels[k-1]``."""

    def __init__(self, channels: tuple[int, ...]):
        super().__init__()
        self.channels = tuple(channels)
        prev = 3
        for k, ch in enumerate(self.channels, 1):
            self.register_module(f"pyramid{k}", nn.Sequential(convrelu(prev, ch, 3, 2, 1), convrelu(ch, ch, 3, 1, 1)))
            prev = ch

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, H, W) -> [(B, c1, H/2, W/2), (B, c2, H/4, W/4), (B, c3, H/8, W/8), (B, c4, H/16, W/16)]."""
        feats = []
        for k in range(1, len(self.channels) + 1):
            x = getattr(self, f"pyramid{k}")(x)
            feats.append(x)
        return feats
