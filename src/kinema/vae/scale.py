"""Latent normalisation from data: scale = 1 / std, shift = mean (LDM's scale factor, with the
shift of later VAEs), so the diffusion model sees latents of about unit variance."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from kinema.errors import InputError


@torch.no_grad()
def estimate_scale_shift(model, batches: Iterable[Tensor], sample: bool = False,
                         generator: torch.Generator | None = None) -> tuple[float, float]:
    """One pass over ``batches`` of video (B, 3, T, H, W) -> ``(scale, shift)`` of the raw latents.

    Uses the posterior mean (what ``encode`` returns by default), or draws when ``sample=True``.
    Running float64 sums keep memory constant in the number of batches. Apply with
    ``model.set_scale_shift(scale, shift)``.
    """
    total, total_sq, count = 0.0, 0.0, 0
    for video in batches:
        post = model.encode_dist(video)
        z = (post.sample(generator) if sample else post.mode()).double()
        total += z.sum().item()
        total_sq += z.pow(2).sum().item()
        count += z.numel()
    if count < 2:
        raise InputError("estimate_scale_shift needs at least one batch with two or more latent values")
    mean = total / count
    var = max(total_sq / count - mean * mean, 0.0)
    if var == 0.0:
        raise InputError("latents have zero variance on these batches; cannot estimate a scale")
    return 1.0 / var ** 0.5, mean
