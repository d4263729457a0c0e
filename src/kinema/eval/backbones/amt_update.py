"""AMT's correlation-guided residual update (Li et al. 2023, Sec. 3.2, "small" variant of AMT-S).

At each decoder level the bidirectional flows (4 channels), the correlation looked up along them
(2 x levels x (2r+1)^2 channels) and the interpolated-frame feature ``ft`` (``cdim`` channels) go
through a motion encoder and a two-conv "GRU" (plain convolutions, no gating) whose two heads
predict residuals for ``ft`` and for the flows. The correlation always lives at 1/8 resolution;
for a level at 1/4 or 1/2 (``scale_factor`` 2 or 4) ``ft`` is first shrunk to 1/8 and the
residuals are enlarged back, the flow residual multiplied by ``scale_factor``.

Module names are those of AMT's ``SmallUpdateBlock`` (``vbench/third_party/amt/networks/blocks/raft.py``).
"""

from __future__ import annotations

import torch
from torch import nn

from kinema.eval.backbones.amt_ops import resize


def _head(hidden_dim: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(hidden_dim, hidden_dim, 3, padding=1), nn.LeakyReLU(0.1, inplace=True),
                         nn.Conv2d(hidden_dim, out_dim, 3, padding=1))


class SmallUpdateBlock(nn.Module):
    """``forward(ft, flow, corr)`` -> (delta_ft, delta_flow) at ft's resolution."""

    def __init__(self, cdim: int, hidden_dim: int, flow_dim: int, corr_dim: int, fc_dim: int,
                 corr_levels: int, radius: int, scale_factor: int | None = None):
        super().__init__()
        cor_planes = corr_levels * (2 * radius + 1) ** 2  # per direction
        self.scale_factor = scale_factor
        self.convc1 = nn.Conv2d(2 * cor_planes, corr_dim, 1, padding=0)
        self.convf1 = nn.Conv2d(4, flow_dim * 2, 7, padding=3)
        self.convf2 = nn.Conv2d(flow_dim * 2, flow_dim, 3, padding=1)
        self.conv = nn.Conv2d(corr_dim + flow_dim, fc_dim, 3, padding=1)
        self.gru = nn.Sequential(nn.Conv2d(fc_dim + 4 + cdim, hidden_dim, 3, padding=1),
                                 nn.LeakyReLU(0.1, inplace=True),
                                 nn.Conv2d(hidden_dim, hidden_dim, 3, padding=1))
        self.feat_head = _head(hidden_dim, cdim)
        self.flow_head = _head(hidden_dim, 4)
        self.lrelu = nn.LeakyReLU(0.1, inplace=True)

    def forward(self, net: torch.Tensor, flow: torch.Tensor, corr: torch.Tensor):
        """net (B, cdim, s h, s w); flow (B, 4, h, w) and corr (B, 2 L (2r+1)^2, h, w) at 1/8 resolution."""
        if self.scale_factor is not None:
            net = resize(net, 1 / self.scale_factor)  # (B, cdim, h, w)
        cor = self.lrelu(self.convc1(corr))
        flo = self.lrelu(self.convf2(self.lrelu(self.convf1(flow))))
        inp = self.lrelu(self.conv(torch.cat([cor, flo], dim=1)))
        out = self.gru(torch.cat([inp, flow, net], dim=1))
        delta_net, delta_flow = self.feat_head(out), self.flow_head(out)
        if self.scale_factor is not None:
            delta_net = resize(delta_net, scale_factor=self.scale_factor)
            delta_flow = self.scale_factor * resize(delta_flow, scale_factor=self.scale_factor)
        return delta_net, delta_flow
