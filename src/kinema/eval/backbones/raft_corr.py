"""RAFT's 4D correlation pyramid and its lookup (Teed & Deng 2020, Sec. 3.2).

All-pairs correlation of the two feature maps, ``C(u, v) = <g1(u), g2(v)> / sqrt(D)``, kept as a
(B*h*w, 1, h, w) stack of 2-D maps and average-pooled over its last two axes into ``levels`` = 4
levels. The lookup at coordinates ``x'`` (the current estimate of where each pixel of frame 1 lands
in frame 2) samples every level bilinearly on the (2r+1)^2 square grid ``x' / 2^k + d``,
``||d||_inf <= r`` (r = 4), giving 4 * 81 = 324 channels.

Numerical details kept from princeton-vl/RAFT (``core/corr.py``, ``core/utils/utils.py``):
pixel coordinates are mapped to grid_sample's [-1, 1] as ``2 x / (W - 1) - 1`` with
``align_corners=True`` and zero padding outside the map; the offset grid is
``meshgrid(dy, dx, indexing="ij")`` stacked as (first, second) and *added to (x, y)*, so the
first index of the (2r+1, 2r+1) window runs over x offsets (the original's ordering, which the
trained weights expect).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

CORR_LEVELS, CORR_RADIUS = 4, 4  # RAFT-large


def coords_grid(batch: int, h: int, w: int, device: torch.device) -> torch.Tensor:
    """(B, 2, h, w) float32 pixel coordinates; channel 0 is x, channel 1 is y."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij")
    return torch.stack([xs, ys], dim=0).float()[None].repeat(batch, 1, 1, 1)


def bilinear_sampler(img: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Sample img (N, C, H, W) at pixel coordinates coords (N, h, w, 2) [x, y] -> (N, C, h, w)."""
    H, W = img.shape[-2:]
    xgrid, ygrid = coords.split([1, 1], dim=-1)
    grid = torch.cat([2 * xgrid / (W - 1) - 1, 2 * ygrid / (H - 1) - 1], dim=-1)
    return F.grid_sample(img, grid, align_corners=True)


def all_pairs_correlation(fmap1: torch.Tensor, fmap2: torch.Tensor) -> torch.Tensor:
    """(B, D, h, w) x 2 -> (B*h*w, 1, h, w): dot products of every pixel pair, scaled by 1/sqrt(D)."""
    batch, dim, h, w = fmap1.shape
    corr = torch.matmul(fmap1.view(batch, dim, h * w).transpose(1, 2), fmap2.view(batch, dim, h * w))
    corr = corr / torch.sqrt(torch.tensor(dim).float())  # (B, h*w, h*w)
    return corr.reshape(batch * h * w, 1, h, w)


class CorrBlock:
    """Correlation pyramid built once per frame pair; ``__call__(coords)`` looks it up."""

    def __init__(self, fmap1: torch.Tensor, fmap2: torch.Tensor, levels: int = CORR_LEVELS,
                 radius: int = CORR_RADIUS):
        self.levels, self.radius = levels, radius
        corr = all_pairs_correlation(fmap1, fmap2)
        self.pyramid = [corr]
        for _ in range(levels - 1):
            corr = F.avg_pool2d(corr, 2, stride=2)  # pool the frame-2 axes only
            self.pyramid.append(corr)

    def __call__(self, coords: torch.Tensor) -> torch.Tensor:
        """coords (B, 2, h, w) -> correlation features (B, levels * (2r+1)^2, h, w)."""
        r = self.radius
        batch, _, h, w = coords.shape
        centroid = coords.permute(0, 2, 3, 1).reshape(batch * h * w, 1, 1, 2)
        offsets = torch.linspace(-r, r, 2 * r + 1, device=coords.device)
        delta = torch.stack(torch.meshgrid(offsets, offsets, indexing="ij"), dim=-1)  # (2r+1, 2r+1, 2)
        delta = delta.view(1, 2 * r + 1, 2 * r + 1, 2)
        out = []
        for k, corr in enumerate(self.pyramid):
            window = bilinear_sampler(corr, centroid / 2**k + delta)  # (B*h*w, 1, 2r+1, 2r+1)
            out.append(window.view(batch, h, w, -1))
        return torch.cat(out, dim=-1).permute(0, 3, 1, 2).contiguous().float()
