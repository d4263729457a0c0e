"""AMT's coarse-to-fine decoders and multi-field synthesis (Li et al. 2023, Secs. 3.1 and 3.3).

* :class:`InitDecoder` (1/16 -> 1/8): from both frames' coarsest features and the time t, the
  initial bidirectional flows F_t->0, F_t->1 and the interpolated-frame feature ft.
* :class:`IntermediateDecoder` (1/8 -> 1/4 -> 1/2): warps each frame's features by its flow,
  refines flows and ft, doubling their resolution (flows add twice the upsampled input).
* :class:`MultiFlowDecoder` (1/2 -> 1): ``num_flows`` flow pairs, occlusion masks (sigmoid) and
  RGB residuals at full resolution ("multi-field" prediction).
* :func:`multi_flow_combine`: warps both frames by every flow pair, blends them with the masks,
  adds the residual and the input mean, and merges the ``num_flows`` candidates by their average
  plus a small conv net (``comb_block``).

Module names follow ``vbench/third_party/amt/networks/blocks/{ifrnet,multi_flow}.py``.
"""

from __future__ import annotations

import torch
from torch import nn

from kinema.eval.backbones.amt_ops import convrelu, resize, warp


class ResBlock(nn.Module):
    """Residual block whose last ``side_channels`` channels get extra 3x3 convs between the main ones."""

    def __init__(self, in_channels: int, side_channels: int):
        super().__init__()
        self.side_channels = side_channels
        self.conv1 = convrelu(in_channels, in_channels)
        self.conv2 = convrelu(side_channels, side_channels)
        self.conv3 = convrelu(in_channels, in_channels)
        self.conv4 = convrelu(side_channels, side_channels)
        self.conv5 = nn.Conv2d(in_channels, in_channels, kernel_size=3, stride=1, padding=1)
        self.prelu = nn.PReLU(in_channels)

    def _side(self, out: torch.Tensor, conv: nn.Module) -> torch.Tensor:
        s = self.side_channels
        return torch.cat([out[:, :-s], conv(out[:, -s:])], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv3(self._side(self.conv1(x), self.conv2))
        out = self.conv5(self._side(out, self.conv4))
        return self.prelu(x + out)


def _convblock(in_ch: int, mid_ch: int, skip_ch: int, out_ch: int) -> nn.Sequential:
    """conv+PReLU, ResBlock, then a 4x4 stride-2 transposed conv that doubles the resolution."""
    return nn.Sequential(convrelu(in_ch, mid_ch), ResBlock(mid_ch, skip_ch),
                         nn.ConvTranspose2d(mid_ch, out_ch, 4, 2, 1, bias=True))


class InitDecoder(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, skip_ch: int):
        super().__init__()
        self.convblock = _convblock(in_ch * 2 + 1, in_ch * 2, skip_ch, out_ch + 4)

    def forward(self, f0: torch.Tensor, f1: torch.Tensor, embt: torch.Tensor):
        """f0, f1 (B, in_ch, h, w), embt (B, 1, 1, 1) -> flow0, flow1 (B, 2, 2h, 2w), ft (B, out_ch, 2h, 2w)."""
        h, w = f0.shape[2:]
        out = self.convblock(torch.cat([f0, f1, embt.repeat(1, 1, h, w)], 1))
        flow0, flow1 = torch.chunk(out[:, :4], 2, 1)
        return flow0, flow1, out[:, 4:]


class IntermediateDecoder(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, skip_ch: int):
        super().__init__()
        self.convblock = _convblock(in_ch * 3 + 4, in_ch * 3, skip_ch, out_ch + 4)

    def forward(self, ft_: torch.Tensor, f0: torch.Tensor, f1: torch.Tensor, flow0_in: torch.Tensor,
                flow1_in: torch.Tensor):
        """All inputs at (h, w) -> flow0, flow1 (B, 2, 2h, 2w), ft (B, out_ch, 2h, 2w)."""
        f_in = torch.cat([ft_, warp(f0, flow0_in), warp(f1, flow1_in), flow0_in, flow1_in], 1)
        out = self.convblock(f_in)
        flow0, flow1 = torch.chunk(out[:, :4], 2, 1)
        flow0 = flow0 + 2.0 * resize(flow0_in, scale_factor=2.0)
        flow1 = flow1 + 2.0 * resize(flow1_in, scale_factor=2.0)
        return flow0, flow1, out[:, 4:]


class MultiFlowDecoder(nn.Module):
    def __init__(self, in_ch: int, skip_ch: int, num_flows: int):
        super().__init__()
        self.num_flows = num_flows
        self.convblock = _convblock(in_ch * 3 + 4, in_ch * 3, skip_ch, 8 * num_flows)

    def forward(self, ft_: torch.Tensor, f0: torch.Tensor, f1: torch.Tensor, flow0: torch.Tensor,
                flow1: torch.Tensor):
        """Inputs at (h, w) -> flow0, flow1 (B, 2n, 2h, 2w), mask (B, n, 2h, 2w), img_res (B, 3n, 2h, 2w)."""
        n = self.num_flows
        out = self.convblock(torch.cat([ft_, warp(f0, flow0), warp(f1, flow1), flow0, flow1], 1))
        delta_flow0, delta_flow1, mask, img_res = torch.split(out, [2 * n, 2 * n, n, 3 * n], 1)
        flow0 = delta_flow0 + 2.0 * resize(flow0, scale_factor=2.0).repeat(1, n, 1, 1)
        flow1 = delta_flow1 + 2.0 * resize(flow1, scale_factor=2.0).repeat(1, n, 1, 1)
        return flow0, flow1, torch.sigmoid(mask), img_res


def multi_flow_combine(comb_block: nn.Module, img0: torch.Tensor, img1: torch.Tensor, flow0: torch.Tensor,
                       flow1: torch.Tensor, mask: torch.Tensor, img_res: torch.Tensor,
                       mean: torch.Tensor) -> torch.Tensor:
    """Blend ``n`` candidate frames into one (B, 3, H, W) prediction (mean-centred inputs, mean added back).

    img0, img1 (B, 3, H, W) mean-subtracted; flow0, flow1 (B, 2n, H, W); mask (B, n, H, W);
    img_res (B, 3n, H, W); mean (B, 1, 1, 1).
    """
    b, c, h, w = flow0.shape
    n = c // 2
    flow0 = flow0.reshape(b, n, 2, h, w).reshape(-1, 2, h, w)  # (B n, 2, H, W)
    flow1 = flow1.reshape(b, n, 2, h, w).reshape(-1, 2, h, w)
    mask = mask.reshape(b, n, 1, h, w).reshape(-1, 1, h, w)
    img_res = img_res.reshape(b, n, 3, h, w).reshape(-1, 3, h, w)
    img0 = torch.stack([img0] * n, 1).reshape(-1, 3, h, w)  # (B n, 3, H, W)
    img1 = torch.stack([img1] * n, 1).reshape(-1, 3, h, w)
    mean = torch.stack([mean] * n, 1).reshape(-1, 1, 1, 1)
    img_warps = mask * warp(img0, flow0) + (1 - mask) * warp(img1, flow1) + mean + img_res
    img_warps = img_warps.reshape(b, n, 3, h, w)
    return img_warps.mean(1) + comb_block(img_warps.view(b, -1, h, w))
