"""Rotary position embedding over any number of axes (RoFormer; 3-D (t, h, w) as in video DiTs).

The head dimension is split between axes; each axis rotates its channel pairs by
``position * theta**(-2i/d_axis)``. Rotating queries and keys by their own positions makes
``q_m . k_n`` depend on ``m - n`` only, so attention sees relative positions.
"""

from __future__ import annotations

import torch
from torch import Tensor


def rope_axes_dims(head_dim: int, num_axes: int = 3) -> tuple[int, ...]:
    """Split ``head_dim`` into even per-axis widths; the first axis (time) takes the remainder."""
    each = 2 * (head_dim // (2 * num_axes))
    return (head_dim - each * (num_axes - 1),) + (each,) * (num_axes - 1)


def rope_angles(pos: Tensor, axes_dims: tuple[int, ...], theta: float = 10000.0) -> Tensor:
    """Positions ``(N, A)`` -> rotation angles ``(N, sum(axes_dims) / 2)`` in float32."""
    parts = []
    for a, d in enumerate(axes_dims):
        freqs = theta ** (-torch.arange(0, d, 2, dtype=torch.float32, device=pos.device) / d)  # (d/2,)
        parts.append(pos[:, a].float()[:, None] * freqs)
    return torch.cat(parts, dim=-1)


def apply_rope(x: Tensor, angles: Tensor) -> Tensor:
    """Rotate channel pairs ``(x[2i], x[2i+1])`` of ``x (..., N, head_dim)`` by ``angles (N, head_dim/2)``."""
    pairs = x.float().unflatten(-1, (-1, 2))  # (..., N, hd/2, 2)
    x1, x2 = pairs[..., 0], pairs[..., 1]
    cos, sin = angles.cos(), angles.sin()
    out = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)
    return out.flatten(-2).to(x.dtype)


def grid_positions(t: int, h: int, w: int, device=None) -> Tensor:
    """Integer (t, h, w) coordinates of a token grid in row-major order: ``(t*h*w, 3)``."""
    axes = [torch.arange(n, device=device) for n in (t, h, w)]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 3)
