"""Shared pieces of the samplers: argument checks, the process, noise draws, churn, callbacks."""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import Tensor

from kinema.diffusion.process import VE, Process, get_process, process_of, randn
from kinema.errors import ConfigError
from kinema.sampling.samplers import check_sampler

Denoise = Callable[..., Tensor]  # denoise(x, sigma (B,), cond) -> x0_hat


def resolve_process(denoise: Any, process: str | None) -> Process:
    """``process`` if given, else the one ``denoise`` carries (a Denoiser, or a wrapper of one), else VE."""
    return get_process(process) if process is not None else process_of(denoise) or VE


def prepare(name: str, denoise: Any, x: Tensor, sigmas: Tensor, process: str | None) -> tuple[Process, Tensor]:
    """Validate the call; return the process and ``sigmas`` as float32 on ``x.device``."""
    process = check_sampler(name, resolve_process(denoise, process))
    if sigmas.dim() != 1 or len(sigmas) < 2:
        raise ValueError(f"sigmas must be 1-D with at least 2 entries, got shape {tuple(sigmas.shape)}")
    sig = sigmas.to(x.device, torch.float32)
    if float(sig[-1]) != 0.0 or bool((sig[1:] >= sig[:-1]).any()):
        raise ValueError(f"sigmas must be strictly decreasing and end in 0, got {sigmas.tolist()}")
    if float(sig[0]) > process.sigma_max:
        raise ValueError(f"{process} sigmas must lie in [0, {process.sigma_max:g}], got sigmas[0]={float(sig[0])!r}")
    return process, sig


def call(denoise: Denoise, x: Tensor, sigma: Tensor, cond: Any) -> Tensor:
    """Evaluate ``denoise`` at the scalar level ``sigma``, broadcast to ``(B,)``."""
    return denoise(x, sigma.expand(x.shape[0]), cond)


def to_d(x: Tensor, denoised: Tensor, sigma: Tensor) -> Tensor:
    """ODE derivative ``d = (x - x0_hat) / sigma`` (VE: Karras Eq. 3 direction; flow: the velocity)."""
    return (x - denoised) / sigma


def churn(x: Tensor, sigma: Tensor, n_steps: int, process: Process, generator: torch.Generator | None,
          s_churn: float, s_tmin: float, s_tmax: float, s_noise: float) -> tuple[Tensor, Tensor]:
    """Karras et al. 2022 Alg. 2 lines 4-6: raise the noise to ``sigma_hat`` (VE-equivalent ``(1+gamma)``).

    For flow the level is raised in VE-equivalent units and the state re-noised consistently, so
    the result stays on the flow path ``(1 - t) x0 + t eps``.
    """
    if s_churn < 0 or s_noise < 0:
        raise ConfigError(f"s_churn={s_churn!r} and s_noise={s_noise!r} must be >= 0")
    gamma = min(s_churn / n_steps, math.sqrt(2.0) - 1.0) if s_tmin <= float(sigma) <= s_tmax else 0.0
    if gamma <= 0:
        return x, sigma
    sigma_hat = process.from_ve_sigma(process.ve_sigma(sigma) * (1.0 + gamma))
    if float(sigma_hat) <= float(sigma):  # flow at t = 1: already pure noise
        return x, sigma
    z = randn(x.shape, generator, x.device, x.dtype) * s_noise
    return process.renoise(x, sigma, sigma_hat, z), sigma_hat


def emit(callback: Callable[[dict], Any] | None, i: int, x: Tensor, sigma: Tensor, sigma_hat: Tensor,
         denoised: Tensor) -> None:
    """k-diffusion's callback payload: ``{"i", "x", "sigma", "sigma_hat", "denoised"}``."""
    if callback is not None:
        callback({"i": i, "x": x, "sigma": sigma, "sigma_hat": sigma_hat, "denoised": denoised})
