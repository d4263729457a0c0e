"""Multi-head attention through ``scaled_dot_product_attention`` (Wang et al. 2026, I2V survey Eq. 4, 13, 16).

One module serves self-attention (spatial, temporal, full 3-D; optionally causal and rotary)
and cross-attention to text tokens with a key-padding mask.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kinema.models.layers.rope import apply_rope


class Attention(nn.Module):
    """``softmax(q k^T / sqrt(d)) v`` with ``q = x W_Q``, ``k, v = context W_K, context W_V``."""

    def __init__(self, dim: int, num_heads: int, context_dim: int | None = None, zero_out: bool = False):
        super().__init__()
        self.num_heads = num_heads
        self.to_q = nn.Linear(dim, dim)
        self.to_k = nn.Linear(context_dim or dim, dim)
        self.to_v = nn.Linear(context_dim or dim, dim)
        self.to_out = nn.Linear(dim, dim)
        if zero_out:  # a new branch that starts as the identity of its residual
            nn.init.zeros_(self.to_out.weight)
            nn.init.zeros_(self.to_out.bias)

    def forward(self, x: Tensor, context: Tensor | None = None, *, rope: Tensor | None = None,
                causal: bool = False, mask: Tensor | None = None, key_mask: Tensor | None = None) -> Tensor:
        """x (B, N, D); context (B, L, D_ctx) or None (self-attention).

        rope: angles (N, head_dim/2) for queries and keys (self-attention only).
        causal: query i attends to keys j <= i.  mask: bool (B|1, 1|heads, N, L), True = attend.
        key_mask: bool (B, L), True = a real key; rows with no real key output zeros.
        """
        src = x if context is None else context
        q, k, v = (self._split(p(t)) for p, t in ((self.to_q, x), (self.to_k, src), (self.to_v, src)))
        if rope is not None:
            q, k = apply_rope(q, rope), apply_rope(k, rope)
        has_key = None
        if key_mask is not None:
            has_key = key_mask.bool().any(dim=-1)  # (B,)
            mask = (key_mask.bool() | ~has_key[:, None])[:, None, None, :]  # (B, 1, 1, L)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal and mask is None)
        out = self.to_out(out.transpose(1, 2).flatten(2))  # (B, h, N, hd) -> (B, N, D)
        if has_key is not None:
            out = out * has_key[:, None, None].to(out.dtype)
        return out

    def _split(self, t: Tensor) -> Tensor:
        return t.unflatten(-1, (self.num_heads, -1)).transpose(1, 2)  # (B, N, D) -> (B, h, N, hd)


class Mlp(nn.Module):
    """Position-wise feed-forward network (the MLP of Eq. 5)."""

    def __init__(self, dim: int, ratio: float = 4.0, dropout: float = 0.0):
        super().__init__()
        hidden = int(dim * ratio)
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU(approximate="tanh")
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.drop(self.act(self.fc1(x))))


def block_causal_mask(num_frames: int, tokens_per_frame: int, device=None) -> Tensor:
    """(T*N, T*N) bool: a token of frame i sees every token of frames <= i (streaming, CausVid)."""
    frame = torch.arange(num_frames, device=device).repeat_interleave(tokens_per_frame)
    return frame[:, None] >= frame[None, :]
