"""CoTracker2's multi-scale correlation features (Karaev et al. 2023, Sec. 3.1, after RAFT).

Each track's feature vector is correlated (dot product / sqrt(C)) with every cell of its frame's
feature map at ``levels`` scales (2x2 average pooling between scales); around the track's current
estimate a (2r+1)^2 window of the correlation map is read bilinearly (border padding) at each
scale. Window layout as facebookresearch/co-tracker ``CorrBlock``: the first window axis steps x,
the second y.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from kinema.eval.backbones.cotracker_sampling import bilinear_sample


class CorrPyramid:
    """Feature pyramid of one window; ``sample(track_feat, coords)`` -> (B*N, S, levels * (2r+1)^2)."""

    def __init__(self, fmaps: torch.Tensor, levels: int = 4, radius: int = 3):
        B, S, C, H, W = fmaps.shape
        self.levels, self.radius = levels, radius
        self.pyramid = [fmaps]
        for _ in range(levels - 1):
            pooled = F.avg_pool2d(fmaps.reshape(B * S, C, H, W), 2, stride=2)
            H, W = pooled.shape[-2:]
            fmaps = pooled.reshape(B, S, C, H, W)
            self.pyramid.append(fmaps)

    def correlate(self, track_feat: torch.Tensor) -> list[torch.Tensor]:
        """track_feat (B, S, N, C) -> per level the correlation maps (B, S, N, H_l, W_l)."""
        B, S, N, C = track_feat.shape
        out = []
        for fmaps in self.pyramid:
            H, W = fmaps.shape[-2:]
            corr = torch.matmul(track_feat, fmaps.view(B, S, C, H * W))  # (B, S, N, H*W)
            out.append(corr.view(B, S, N, H, W) / torch.sqrt(torch.tensor(C).float()))
        return out

    def sample(self, track_feat: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
        """track_feat (B, S, N, C), coords (B, S, N, 2) at stride resolution -> (B*N, S, L*(2r+1)^2)."""
        B, S, N, _ = coords.shape
        r = self.radius
        d = torch.linspace(-r, r, 2 * r + 1)
        delta = torch.stack(torch.meshgrid(d, d, indexing="ij"), dim=-1).to(coords.device)  # (2r+1, 2r+1, 2)
        out = []
        for i, corr in enumerate(self.correlate(track_feat)):
            H, W = corr.shape[-2:]
            window = coords.reshape(B * S * N, 1, 1, 2) / 2**i + delta.view(1, 2 * r + 1, 2 * r + 1, 2)
            sampled = bilinear_sample(corr.reshape(B * S * N, 1, H, W), window)  # (B*S*N, 1, 2r+1, 2r+1)
            out.append(sampled.view(B, S, N, -1))
        return torch.cat(out, dim=-1).permute(0, 2, 1, 3).reshape(B * N, S, -1).float()
