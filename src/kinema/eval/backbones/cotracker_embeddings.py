"""Sine-cosine embeddings of CoTracker2 (Karaev et al. 2023, Sec. 3.1): frame index (time), feature-map
position, and track displacement.

Facts from facebookresearch/co-tracker ``cotracker/models/core/embeddings.py``: position and time
embeddings use frequencies ``10000^(-k / (D/2))`` computed in float64 and stored as float32,
``[sin | cos]`` halves; the 2-D position embedding puts the x (column) half first. The displacement
embedding uses the unusual frequencies ``k * 1000 / C`` (k = 0, 2, 4, ...), interleaves sin and cos,
and prepends the raw displacement.
"""

from __future__ import annotations

import torch


def sincos_1d(dim: int, positions: torch.Tensor) -> torch.Tensor:
    """positions (any shape, M values) -> (1, M, dim): ``[sin(p w) | cos(p w)]``, w = 10000^(-k/(dim/2))."""
    omega = torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0)
    omega = 1.0 / 10000**omega  # (dim/2,)
    out = positions.reshape(-1).double()[:, None] * omega[None]  # (M, dim/2)
    return torch.cat([torch.sin(out), torch.cos(out)], dim=1)[None].float()


def sincos_2d(dim: int, height: int, width: int) -> torch.Tensor:
    """Embedding of every feature-map cell -> (1, dim, height, width); channels [x half | y half]."""
    ys, xs = torch.meshgrid(torch.arange(height, dtype=torch.float), torch.arange(width, dtype=torch.float),
                            indexing="ij")  # (h, w) each
    emb = torch.cat([sincos_1d(dim // 2, xs), sincos_1d(dim // 2, ys)], dim=2)  # (1, h*w, dim)
    return emb.reshape(1, height, width, dim).permute(0, 3, 1, 2)


def time_embedding(dim: int, window_len: int) -> torch.Tensor:
    """Embedding of the frame index inside a window -> (1, window_len, dim)."""
    return sincos_1d(dim, torch.linspace(0, window_len - 1, window_len))


def displacement_embedding(xy: torch.Tensor, channels: int) -> torch.Tensor:
    """xy (B, N, 2) -> (B, N, 2 + 2 channels): ``[x, y, emb(x), emb(y)]`` with
    ``emb(v)[2k] = sin(v f_k)``, ``emb(v)[2k+1] = cos(v f_k)``, ``f_k = 2k * 1000 / channels``."""
    freqs = torch.arange(0, channels, 2, device=xy.device, dtype=torch.float32) * (1000.0 / channels)

    def embed(v: torch.Tensor) -> torch.Tensor:  # (B, N, 1) -> (B, N, channels)
        angle = v * freqs  # (B, N, channels/2)
        return torch.stack([torch.sin(angle), torch.cos(angle)], dim=-1).flatten(-2)

    return torch.cat([xy, embed(xy[..., 0:1]), embed(xy[..., 1:2])], dim=2)
