"""AMT's bidirectional all-pairs correlation (Li et al. 2023, Sec. 3.2).

One correlation volume ``C(u, v) = <g0(u), g1(v)> / sqrt(D)`` between the 1/8-resolution features of
frame 0 and frame 1 serves both directions: as (B*h*w, 1, h, w) maps over frame-1 positions for
every frame-0 pixel, and transposed, over frame-0 positions for every frame-1 pixel. Each is
average-pooled into ``levels`` levels. The lookup takes one coordinate field per direction and
samples every level on the (2r+1)^2 window ``x / 2^k + d``; the two results are returned
separately, each with ``levels * (2r+1)^2`` channels (AMT-S: r = 3, 4 levels, 196 channels).

The all-pairs product, the pixel-to-grid mapping (``align_corners=True``, zero padding) and the
window ordering are RAFT's (:mod:`kinema.eval.backbones.raft_corr`), as in AMT's ``BidirCorrBlock``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from kinema.eval.backbones.raft_corr import all_pairs_correlation, bilinear_sampler


def corr_pyramid(corr: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """(N, 1, h, w) correlation maps -> ``levels`` maps, each pooled 2x2 from the previous."""
    pyramid = [corr]
    for _ in range(levels - 1):
        corr = F.avg_pool2d(corr, 2, stride=2)
        pyramid.append(corr)
    return pyramid


def lookup(pyramid: list[torch.Tensor], coords: torch.Tensor, radius: int) -> torch.Tensor:
    """Sample a pyramid at pixel coordinates coords (B, 2, h, w) [x, y] -> (B, L * (2r+1)^2, h, w)."""
    r = radius
    batch, _, h, w = coords.shape
    centroid = coords.permute(0, 2, 3, 1).reshape(batch * h * w, 1, 1, 2)
    offsets = torch.linspace(-r, r, 2 * r + 1, device=coords.device)
    delta = torch.stack(torch.meshgrid(offsets, offsets, indexing="ij"), dim=-1).view(1, 2 * r + 1, 2 * r + 1, 2)
    out = [bilinear_sampler(corr, centroid / 2**k + delta).view(batch, h, w, -1) for k, corr in enumerate(pyramid)]
    return torch.cat(out, dim=-1).permute(0, 3, 1, 2).contiguous().float()


class BidirCorrBlock:
    """Correlation pyramids of a frame pair in both directions; ``__call__(coords0, coords1)`` looks
    up frame 1's features around coords0 (one per frame-0 pixel) and frame 0's around coords1."""

    def __init__(self, fmap0: torch.Tensor, fmap1: torch.Tensor, levels: int, radius: int):
        self.levels, self.radius = levels, radius
        batch, _, h, w = fmap0.shape
        corr = all_pairs_correlation(fmap0, fmap1)  # (B*h*w, 1, h, w): frame-0 pixel -> frame-1 map
        corr_T = corr.view(batch, h * w, h * w).transpose(1, 2).reshape(batch * h * w, 1, h, w)
        self.pyramid = corr_pyramid(corr, levels)
        self.pyramid_T = corr_pyramid(corr_T, levels)

    def __call__(self, coords0: torch.Tensor, coords1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if coords0.shape != coords1.shape:
            raise ValueError(f"coordinate fields differ in shape: {tuple(coords0.shape)} vs {tuple(coords1.shape)}")
        return lookup(self.pyramid, coords0, self.radius), lookup(self.pyramid_T, coords1, self.radius)
