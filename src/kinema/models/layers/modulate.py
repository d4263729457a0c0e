"""adaLN-Zero (DiT): LayerNorm without affine, then a per-sample shift and scale from the condition."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


def modulate(x: Tensor, shift: Tensor, scale: Tensor) -> Tensor:
    """x (B, ..., D); shift, scale (B, D) -> ``x * (1 + scale) + shift`` broadcast over tokens."""
    view = (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)
    return x * (1 + scale.view(view)) + shift.view(view)


class AdaLNModulation(nn.Module):
    """c (B, D) -> ``n`` chunks of (B, D) through SiLU + Linear, zero-initialised (gates start at 0)."""

    def __init__(self, dim: int, n: int):
        super().__init__()
        self.n = n
        self.linear = nn.Linear(dim, n * dim)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, c: Tensor) -> tuple[Tensor, ...]:
        return self.linear(F.silu(c)).chunk(self.n, dim=-1)
