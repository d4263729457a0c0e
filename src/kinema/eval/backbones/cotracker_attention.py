"""Transformer blocks of CoTracker2's update transformer (Karaev et al. 2023, Sec. 3.2).

Module names follow facebookresearch/co-tracker ``cotracker/models/core/cotracker/blocks.py`` and
``cotracker.py`` (``to_q``, ``to_kv``, ``to_out``, ``mlp.fc1``, ``mlp.fc2``, ``norm_context``) so
``cotracker2.pth`` loads as it is. Pre-norm blocks; the token norms have no affine parameters
(eps 1e-6), the context norm of cross-attention has them (eps 1e-5); MLPs use tanh-approximated
GELU. Masked attention adds ``-finfo.max`` to the logits of masked pairs, as the original does.
"""

from __future__ import annotations

import torch
from torch import nn


class Mlp(nn.Module):
    """Linear -> GELU (tanh) -> Linear."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU(approximate="tanh")
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Attention(nn.Module):
    """Multi-head (cross-)attention; queries from x (B, N1, C), keys and values from context (B, N2, C)."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.to_q = nn.Linear(dim, dim)
        self.to_kv = nn.Linear(dim, 2 * dim)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None,
                attn_bias: torch.Tensor | None = None) -> torch.Tensor:
        context = x if context is None else context
        B, N1, C = x.shape
        h = self.heads

        def split(t: torch.Tensor) -> torch.Tensor:  # (B, n, C) -> (B, h, n, C/h)
            return t.reshape(B, t.shape[1], h, C // h).permute(0, 2, 1, 3)

        k, v = self.to_kv(context).chunk(2, dim=-1)
        sim = (split(self.to_q(x)) @ split(k).transpose(-2, -1)) * self.scale  # (B, h, N1, N2)
        if attn_bias is not None:
            sim = sim + attn_bias
        out = sim.softmax(dim=-1) @ split(v)  # (B, h, N1, C/h)
        return self.to_out(out.transpose(1, 2).reshape(B, N1, C))


class AttnBlock(nn.Module):
    """Self-attention block (no mask: CoTracker2's time and virtual-track blocks attend everywhere)."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class CrossAttnBlock(nn.Module):
    """Cross-attention block between real tracks and virtual tracks, with a per-track mask."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.norm_context = nn.LayerNorm(dim)
        self.cross_attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, N1, C), context (B, N2, C), mask bool (B, Np) over the real tracks."""
        bias = None if mask is None else track_mask_bias(mask, x, context, self.cross_attn.heads)
        x = x + self.cross_attn(self.norm1(x), context=self.norm_context(context), attn_bias=bias)
        return x + self.mlp(self.norm2(x))


def track_mask_bias(mask: torch.Tensor, x: torch.Tensor, context: torch.Tensor, heads: int) -> torch.Tensor:
    """Additive logits bias (B, heads, N1, N2) from a track mask (B, Np).

    The original decides which side the mask belongs to by length: when ``Np == N1`` it masks the
    query rows (tracks attending to virtual tracks), otherwise the context columns (virtual tracks
    attending to tracks). Kept as is, including the ambiguous case Np == N1 == N2.
    """
    if mask.shape[1] == x.shape[1]:
        mask = mask[:, None, :, None].expand(-1, heads, -1, context.shape[1])
    else:
        mask = mask[:, None, None].expand(-1, heads, x.shape[1], -1)
    return (~mask) * -torch.finfo(x.dtype).max
