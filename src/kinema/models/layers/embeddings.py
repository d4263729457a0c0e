"""Noise-level and scalar-control embeddings (Wang et al. 2026, I2V survey Eq. 14-15), computed in float32 on purpose.

``c_noise`` and raw scalars (fps, motion amount, noise-augmentation level) span very different
ranges, so each is first mapped to sinusoidal (Fourier) features, then through a small MLP.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def sinusoidal_embedding(x: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """Transformer / DDPM positional features: (...) -> (..., dim) float32, ``[cos | sin]``.

    Frequencies run geometrically from 1 down to ``1 / max_period``; always float32 so that
    large timesteps and small EDM ``c_noise`` keep their resolution under bf16 training.
    """
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=x.device) / half)
    args = x.float()[..., None] * freqs  # (..., half)
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.nn.functional.pad(emb, (0, 1))
    return emb


class TimestepEmbedder(nn.Module):
    """``c_noise (B,) -> (B, dim)``: sinusoid (float32) then a two-layer MLP (as in DiT)."""

    def __init__(self, dim: int, freq_dim: int = 256):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, c_noise: Tensor) -> Tensor:
        freqs = sinusoidal_embedding(c_noise, self.freq_dim)
        return self.mlp(freqs.to(self.mlp[0].weight.dtype))


class VectorEmbedder(nn.Module):
    """Raw scalar controls ``(B, V) -> (B, dim)``, added to the timestep embedding (Eq. 14-15).

    Each scalar gets its own Fourier features; the MLP's last layer starts at zero, so adding
    a control to a trained model changes nothing until it is trained.
    """

    def __init__(self, vector_dim: int, dim: int, freq_dim: int = 256):
        super().__init__()
        self.vector_dim, self.freq_dim = vector_dim, freq_dim
        self.mlp = nn.Sequential(nn.Linear(vector_dim * freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, vector: Tensor) -> Tensor:
        freqs = sinusoidal_embedding(vector, self.freq_dim).flatten(1)  # (B, V, F) -> (B, V*F)
        return self.mlp(freqs.to(self.mlp[0].weight.dtype))


class PooledTextEmbedder(nn.Module):
    """Text tokens ``(B, L, D_text)`` -> ``(B, dim)``: masked mean, LayerNorm, MLP; added like the vector.

    The pooled prompt modulates every ResBlock / adaLN block through the timestep embedding, a global
    path for global properties (camera move, direction), beside cross-attention (Imagen and SDXL add
    a pooled text embedding the same way). The last layer starts at zero: a trained model is unchanged.
    """

    def __init__(self, text_dim: int, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(text_dim)
        self.mlp = nn.Sequential(nn.Linear(text_dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, tokens: Tensor, token_mask: Tensor | None = None) -> Tensor:
        w = tokens.new_ones(tokens.shape[:2]) if token_mask is None else token_mask.to(tokens.dtype)  # (B, L)
        pooled = (tokens * w[..., None]).sum(1) / w.sum(1, keepdim=True).clamp(min=1.0)  # (B, D_text)
        out = self.mlp(self.norm(pooled.float()).to(self.mlp[0].weight.dtype))
        return out * (w.sum(1, keepdim=True) > 0).to(out.dtype)  # no real token (dropped prompt) -> zeros
