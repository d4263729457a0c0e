"""How a backbone reads its inputs: ConditionBatch's three condition routes (Wang et al. 2026, Eq. 12-15).

Shared by every backbone so the routing rules live in one place:
``concat`` joins the noisy latents on channels (``None`` -> zeros), ``vector`` is embedded and
added to the timestep embedding (``None`` -> zeros, the same as a dropped vector), ``tokens``
feed cross-attention (``None`` -> cross-attention skipped).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from kinema.errors import InputError

if TYPE_CHECKING:  # models/ imports only models/ at run time; the batch is read by its fields
    from kinema.conditioning.batch import ConditionBatch


def check_video(x_in: Tensor, c_noise: Tensor, in_channels: int) -> None:
    """x_in (B, C_in, T, H, W) and c_noise (B,) or raise an InputError naming the shapes."""
    if x_in.dim() != 5 or x_in.shape[1] != in_channels:
        raise InputError(f"x_in must be (B, {in_channels}, T, H, W), got {tuple(x_in.shape)}")
    if c_noise.shape != (x_in.shape[0],):
        raise InputError(f"c_noise must be (B,) = ({x_in.shape[0]},), got {tuple(c_noise.shape)}")


def with_concat(x_in: Tensor, cond: "ConditionBatch | None", concat_channels: int) -> Tensor:
    """Concatenate ``cond.concat (B, C_cat, T, H, W)`` to x_in on channels; zeros when absent."""
    extra = None if cond is None else cond.concat
    if extra is None:
        if concat_channels == 0:
            return x_in
        b, _, t, h, w = x_in.shape
        extra = x_in.new_zeros(b, concat_channels, t, h, w)
    expected = (x_in.shape[0], concat_channels, *x_in.shape[2:])
    if tuple(extra.shape) != expected:
        raise InputError(f"cond.concat must be {expected} (config concat_channels={concat_channels}), "
                         f"got {tuple(extra.shape)}")
    return torch.cat([x_in, extra.to(x_in.dtype)], dim=1)


def vector_of(cond: "ConditionBatch | None", batch: int, vector_dim: int, like: Tensor) -> Tensor | None:
    """The raw scalar controls (B, V), zeros when absent; None when the model has no vector input."""
    vector = None if cond is None else cond.vector
    if vector_dim == 0:
        if vector is not None:
            raise InputError(f"cond.vector given with shape {tuple(vector.shape)} but the backbone has vector_dim=0")
        return None
    if vector is None:
        return like.new_zeros(batch, vector_dim, dtype=torch.float32)
    if tuple(vector.shape) != (batch, vector_dim):
        raise InputError(f"cond.vector must be (B, vector_dim) = ({batch}, {vector_dim}), got {tuple(vector.shape)}")
    return vector


def tokens_of(cond: "ConditionBatch | None", batch: int, text_dim: int,
              dtype: torch.dtype | None = None) -> tuple[Tensor | None, Tensor | None]:
    """(tokens (B, L, D_text) in ``dtype``, token_mask (B, L) or None); (None, None) when there is no text."""
    tokens = None if cond is None else cond.tokens
    if tokens is None:
        return None, None
    if text_dim == 0:
        raise InputError(f"cond.tokens given with shape {tuple(tokens.shape)} but the backbone has text_dim=0")
    if tokens.dim() != 3 or tokens.shape[0] != batch or tokens.shape[2] != text_dim:
        raise InputError(f"cond.tokens must be (B, L, text_dim) = ({batch}, L, {text_dim}), got {tuple(tokens.shape)}")
    mask = cond.token_mask
    if mask is not None and tuple(mask.shape) != tuple(tokens.shape[:2]):
        raise InputError(f"cond.token_mask must be {tuple(tokens.shape[:2])}, got {tuple(mask.shape)}")
    return tokens.to(dtype), mask
