"""Temporal sub-blocks T of the pseudo-3D U-Net (Wang et al. 2026 Eq. 3): 1-D conv and attention over frames.

Both act on per-frame features ``(B*T, C, H, W)`` and end in a zero-initialised projection, so a
freshly inserted temporal layer is the identity and a new video model equals its image model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from kinema.models.layers.attention import Attention, Mlp
from kinema.models.layers.resnet import group_norm
from kinema.models.layers.rope import rope_angles


def _zero(layer: nn.Module) -> nn.Module:
    for p in layer.parameters():
        nn.init.zeros_(p)
    return layer


class TemporalConv(nn.Module):
    """Two (k, 1, 1) convolutions along time at every pixel, residual, last one zero-initialised."""

    def __init__(self, channels: int, kernel_size: int = 3, dropout: float = 0.0):
        super().__init__()
        pad = (kernel_size // 2, 0, 0)
        self.norm1 = group_norm(channels)
        self.conv1 = nn.Conv3d(channels, channels, (kernel_size, 1, 1), padding=pad)
        self.norm2, self.drop = group_norm(channels), nn.Dropout(dropout)
        self.conv2 = _zero(nn.Conv3d(channels, channels, (kernel_size, 1, 1), padding=pad))

    def forward(self, x: Tensor, num_frames: int) -> Tensor:
        h = rearrange(x, "(b t) c h w -> b c t h w", t=num_frames)
        h = self.conv1(F.silu(self.norm1(h)))
        h = self.conv2(self.drop(F.silu(self.norm2(h))))
        return x + rearrange(h, "b c t h w -> (b t) c h w")


class TemporalAttention(nn.Module):
    """Self-attention across the K frames at each spatial position n (Eq. 16), then an MLP.

    Frame order enters through 1-D rotary positions; the output projection is zero-initialised.
    """

    def __init__(self, channels: int, num_heads: int, rope_theta: float = 10000.0):
        super().__init__()
        self.rope_theta = rope_theta
        self.norm = group_norm(channels)
        self.proj_in = nn.Linear(channels, channels)
        self.attn_norm, self.attn = nn.LayerNorm(channels), Attention(channels, num_heads)
        self.ff_norm, self.ff = nn.LayerNorm(channels), Mlp(channels)
        self.proj_out = _zero(nn.Linear(channels, channels))

    def forward(self, x: Tensor, num_frames: int) -> Tensor:
        _, _, height, width = x.shape
        h = rearrange(self.norm(x), "(b t) c h w -> (b h w) t c", t=num_frames)
        h = self.proj_in(h)
        head_dim = h.shape[-1] // self.attn.num_heads
        frames = torch.arange(num_frames, device=x.device)[:, None]  # (T, 1)
        h = h + self.attn(self.attn_norm(h), rope=rope_angles(frames, (head_dim,), self.rope_theta))
        h = h + self.ff(self.ff_norm(h))
        h = self.proj_out(h)
        return x + rearrange(h, "(b h w) t c -> (b t) c h w", h=height, w=width)
