"""Guidance weights per sample, per frame and per step.

A condition's guidance scale ``s`` enters the combination only through its excess ``s - 1``
(``x0 = D_c + (s - 1) (D_c - D_u)``). Every modifier multiplies that excess:

* frame ramp (SVD, Blattmann et al. 2023): ``s_img[t] = linspace(min, max, T)[t]``;
* per-step schedule: a factor ``f(p)`` of the sampling progress ``p`` in [0, 1]
  (0 at the first step, 1 at the last), ``constant`` (1), ``linear`` or ``cosine`` from
  ``schedule_start`` to ``schedule_end``;
* guidance interval (Kynkäänniemi et al. 2024): factor 1 for ``sigma_lo < sigma <= sigma_hi``, else 0.

So the effective weight is ``g = (s - 1) * f(p) * inside``, shaped ``(B, 1, T|1, 1, 1)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from kinema.sampling.guidance.config import GuidanceConfig


def frame_ramp_scales(lo: float, hi: float, n_frames: int) -> Tensor:
    """SVD's per-frame guidance scale: ``linspace(lo, hi, T)``, shape (T,) float32."""
    return torch.linspace(lo, hi, n_frames, dtype=torch.float32)


def schedule_factor(kind: str, progress: Tensor, start: float, end: float) -> Tensor:
    """Per-step factor on the guidance excess at progress ``p`` (B,) in [0, 1].

    ``linear``: ``start + (end - start) p``; ``cosine``: ``end + (start - end) (1 + cos(pi p)) / 2``
    (flat near both ends); ``constant``: 1 (start/end ignored).
    """
    p = progress.to(torch.float32).clamp(0.0, 1.0)
    if kind == "constant":
        return torch.ones_like(p)
    if kind == "linear":
        return start + (end - start) * p
    if kind == "cosine":
        return end + (start - end) * 0.5 * (1.0 + torch.cos(math.pi * p))
    raise ValueError(f"unknown guidance schedule {kind!r}")


def progress_from_sigmas(sigma: Tensor, sigmas: Tensor) -> Tensor:
    """Fractional step index of each ``sigma`` (B,) within a descending schedule, scaled to [0, 1].

    ``sigmas`` is the sampler's schedule (descending, ending in 0). Step ``i`` evaluates the model
    at ``sigmas[i]`` for ``i < N``; sigmas in between (Heun, DPM midpoints) get a fractional index
    by interpolation in log-sigma. Outside the range the progress is clamped to 0 or 1.
    """
    levels = sigmas.detach().double().cpu()
    levels = levels[levels > 0]  # (N,) the noise levels the model is evaluated at, descending
    if levels.numel() <= 1:
        return torch.zeros_like(sigma, dtype=torch.float32)
    log_levels = levels.log().flip(0).numpy()  # ascending, as np.interp wants
    index = np.arange(levels.numel() - 1, -1, -1, dtype=np.float64)  # step index of each ascending level
    log_sigma = sigma.detach().double().cpu().clamp_min(1e-30).log().numpy()
    frac = np.interp(log_sigma, log_levels, index) / (levels.numel() - 1)
    return torch.as_tensor(frac, dtype=torch.float32, device=sigma.device)


def in_interval(sigma: Tensor, interval: tuple[float, float] | None) -> Tensor:
    """(B,) float32: 1 where ``sigma_lo < sigma <= sigma_hi`` (or no interval), else 0."""
    if interval is None:
        return torch.ones_like(sigma, dtype=torch.float32)
    lo, hi = interval
    return ((sigma > lo) & (sigma <= hi)).to(torch.float32)


def guidance_weights(cfg: GuidanceConfig, sigma: Tensor, n_frames: int, progress: Tensor | None
                     ) -> tuple[Tensor, Tensor]:
    """Excess weights ``(g_img, g_txt)``: ``g = (s - 1) * f(p) * inside``, each (B, 1, T|1, 1, 1)."""
    step = _step_factor(cfg, sigma, progress)
    if cfg.frame_ramp is not None:
        s_img = frame_ramp_scales(*cfg.frame_ramp, n_frames).to(sigma.device)
        s_img = s_img.view(1, 1, n_frames, 1, 1)  # (T,) -> (1, 1, T, 1, 1)
    else:
        s_img = torch.tensor(float(cfg.image_scale), device=sigma.device)
    g_img = (s_img - 1.0) * step
    g_txt = (float(cfg.text_scale) - 1.0) * step
    return g_img, g_txt


def plan_weight(cfg, sigma: Tensor, progress: Tensor | None) -> Tensor:
    """Excess motion-plan weight ``(s_plan - 1) * f(p) * inside``, (B, 1, 1, 1, 1)."""
    return (float(cfg.plan_scale) - 1.0) * _step_factor(cfg, sigma, progress)


def _step_factor(cfg, sigma: Tensor, progress: Tensor | None) -> Tensor:
    """The per-step factor shared by every scale: interval mask times schedule, (B, 1, 1, 1, 1)."""
    step = in_interval(sigma, cfg.interval)  # (B,)
    if progress is not None:
        step = step * schedule_factor(cfg.schedule, progress, cfg.schedule_start, cfg.schedule_end)
    return step.view(-1, 1, 1, 1, 1)  # (B,) -> (B, 1, 1, 1, 1)
