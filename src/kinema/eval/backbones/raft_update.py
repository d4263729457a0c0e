"""RAFT's recurrent update operator (Teed & Deng 2020, Sec. 3.3 and Appendix, Fig. 13).

One iteration maps (hidden state h, context, correlation features, current flow f) to a new h, a
flow increment ``delta_f`` (so ``f_{k+1} = f_k + delta_f``) and the convex-upsampling mask:

* motion encoder: correlation (324 ch) -> 256 -> 192, flow (2 ch) -> 128 -> 64, fused to 126
  channels and concatenated with the flow itself (128);
* separable ConvGRU: a 1x5 GRU then a 5x1 GRU over x = [context, motion] (128 + 128 = 384 ch with h);
* flow head: 3x3 conv 128 -> 256, ReLU, 3x3 conv -> 2;
* mask head: 3x3 conv 128 -> 256, ReLU, 1x1 conv -> 8*8*9, scaled by 0.25 (the original's
  gradient-balancing factor, kept because the trained weights expect it).

Names follow princeton-vl/RAFT ``core/update.py`` (``BasicUpdateBlock``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MASK_SCALE = 0.25  # the original multiplies the mask logits by 0.25


class FlowHead(nn.Module):
    """(B, 128, h, w) -> (B, 2, h, w) flow increment."""

    def __init__(self, input_dim: int = 128, hidden_dim: int = 256):
        super().__init__()
        self.conv1 = nn.Conv2d(input_dim, hidden_dim, 3, padding=1)
        self.conv2 = nn.Conv2d(hidden_dim, 2, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.relu(self.conv1(x)))


def gru_step(convz: nn.Conv2d, convr: nn.Conv2d, convq: nn.Conv2d, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """One ConvGRU update: z, r gates; candidate q from [r*h, x]; h <- (1-z) h + z q."""
    hx = torch.cat([h, x], dim=1)
    z = torch.sigmoid(convz(hx))
    r = torch.sigmoid(convr(hx))
    q = torch.tanh(convq(torch.cat([r * h, x], dim=1)))
    return (1 - z) * h + z * q


class SepConvGRU(nn.Module):
    """A horizontal (1x5) then a vertical (5x1) ConvGRU sharing the input x."""

    def __init__(self, hidden_dim: int = 128, input_dim: int = 256):
        super().__init__()
        c = hidden_dim + input_dim
        self.convz1 = nn.Conv2d(c, hidden_dim, (1, 5), padding=(0, 2))
        self.convr1 = nn.Conv2d(c, hidden_dim, (1, 5), padding=(0, 2))
        self.convq1 = nn.Conv2d(c, hidden_dim, (1, 5), padding=(0, 2))
        self.convz2 = nn.Conv2d(c, hidden_dim, (5, 1), padding=(2, 0))
        self.convr2 = nn.Conv2d(c, hidden_dim, (5, 1), padding=(2, 0))
        self.convq2 = nn.Conv2d(c, hidden_dim, (5, 1), padding=(2, 0))

    def forward(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        h = gru_step(self.convz1, self.convr1, self.convq1, h, x)  # horizontal
        return gru_step(self.convz2, self.convr2, self.convq2, h, x)  # vertical


class BasicMotionEncoder(nn.Module):
    """(flow (B, 2, h, w), corr (B, corr_planes, h, w)) -> motion features (B, 128, h, w)."""

    def __init__(self, corr_planes: int):
        super().__init__()
        self.convc1 = nn.Conv2d(corr_planes, 256, 1, padding=0)
        self.convc2 = nn.Conv2d(256, 192, 3, padding=1)
        self.convf1 = nn.Conv2d(2, 128, 7, padding=3)
        self.convf2 = nn.Conv2d(128, 64, 3, padding=1)
        self.conv = nn.Conv2d(64 + 192, 128 - 2, 3, padding=1)

    def forward(self, flow: torch.Tensor, corr: torch.Tensor) -> torch.Tensor:
        cor = F.relu(self.convc2(F.relu(self.convc1(corr))))
        flo = F.relu(self.convf2(F.relu(self.convf1(flow))))
        out = F.relu(self.conv(torch.cat([cor, flo], dim=1)))
        return torch.cat([out, flow], dim=1)


class BasicUpdateBlock(nn.Module):
    """(h, context, corr, flow) -> (new h, upsampling mask logits (B, 576, h, w), delta flow)."""

    def __init__(self, corr_planes: int, hidden_dim: int = 128):
        super().__init__()
        self.encoder = BasicMotionEncoder(corr_planes)
        self.gru = SepConvGRU(hidden_dim=hidden_dim, input_dim=128 + hidden_dim)
        self.flow_head = FlowHead(hidden_dim, hidden_dim=256)
        self.mask = nn.Sequential(
            nn.Conv2d(128, 256, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(256, 64 * 9, 1, padding=0))

    def forward(self, net: torch.Tensor, inp: torch.Tensor, corr: torch.Tensor,
                flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        motion = self.encoder(flow, corr)
        net = self.gru(net, torch.cat([inp, motion], dim=1))
        return net, MASK_SCALE * self.mask(net), self.flow_head(net)
