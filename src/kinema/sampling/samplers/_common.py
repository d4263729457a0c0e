"""Shared pieces of the samplers: argument checks, the process, noise draws, churn, callbacks."""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import Tensor

from kinema.diffusion.process import PROCESSES, check_process, from_ve_sigma, renoise, ve_sigma
from kinema.errors import ConfigError

Denoise = Callable[..., Tensor]  # denoise(x, sigma (B,), cond) -> x0_hat

# Which state conventions each sampler is defined for (see docs/contracts.md).
SAMPLER_PROCESSES: dict[str, tuple[str, ...]] = {
    "ddpm": ("ve",), "ddim": ("ve",), "euler": PROCESSES, "euler_a": PROCESSES, "heun": PROCESSES,
    "dpmpp_2m": PROCESSES, "flow_euler": ("flow",), "flow_heun": ("flow",),
}


_WRAPPED = ("denoise", "denoiser", "inner", "model", "func")  # attributes that hold a wrapped callable


def _find_process(obj: Any, depth: int = 0) -> str | None:
    """``obj.process`` or ``obj.param.process``, looking through wrappers (guidance, partial)."""
    if obj is None or depth > 4:
        return None
    process = getattr(obj, "process", None)
    if isinstance(process, str):
        return process
    process = getattr(getattr(obj, "param", None), "process", None)
    if isinstance(process, str):
        return process
    for attr in _WRAPPED:
        found = _find_process(getattr(obj, attr, None), depth + 1)
        if found is not None:
            return found
    return None


def resolve_process(denoise: Any, process: str | None) -> str:
    """``process`` if given, else found on ``denoise`` (a Denoiser, or a wrapper of one), else "ve"."""
    return check_process(process or _find_process(denoise) or "ve")


def check_sampler(name: str, process: Any) -> None:
    """Raise a ConfigError when sampler ``name`` is not defined for ``process``.

    ``process`` is "ve" / "flow" or anything that carries one (a Parameterization, a Denoiser).
    """
    if name not in SAMPLER_PROCESSES:
        raise ConfigError(f"sampler={name!r} is not one of {sorted(SAMPLER_PROCESSES)}")
    if not isinstance(process, str):
        holder, process = process, _find_process(process)
        if process is None:
            raise ConfigError(f"cannot tell the process of {type(holder).__name__}; pass 've' or 'flow'")
    check_process(process)
    if process not in SAMPLER_PROCESSES[name]:
        usable = sorted(k for k, v in SAMPLER_PROCESSES.items() if process in v)
        kind = "rectified-flow" if process == "flow" else "VE (eps / v / x0 / EDM)"
        raise ConfigError(f"sampler {name!r} is not defined for {kind} models (process={process!r}); "
                          f"samplers for this model: {usable}")


def prepare(name: str, denoise: Any, x: Tensor, sigmas: Tensor, process: str | None) -> tuple[str, Tensor]:
    """Validate the call; return the process and ``sigmas`` as float32 on ``x.device``."""
    process = resolve_process(denoise, process)
    check_sampler(name, process)
    if sigmas.dim() != 1 or len(sigmas) < 2:
        raise ValueError(f"sigmas must be 1-D with at least 2 entries, got shape {tuple(sigmas.shape)}")
    sig = sigmas.to(x.device, torch.float32)
    if float(sig[-1]) != 0.0 or bool((sig[1:] >= sig[:-1]).any()):
        raise ValueError(f"sigmas must be strictly decreasing and end in 0, got {sigmas.tolist()}")
    if process == "flow" and float(sig[0]) > 1.0:
        raise ValueError(f"flow sigmas must lie in [0, 1], got sigmas[0]={float(sig[0])!r}")
    return process, sig


def randn_like(x: Tensor, generator: torch.Generator | None) -> Tensor:
    """Standard normal of ``x``'s shape drawn on the generator's device (same stream as diffusers)."""
    device = generator.device if generator is not None else x.device
    return torch.randn(x.shape, generator=generator, device=device, dtype=x.dtype).to(x.device)


def call(denoise: Denoise, x: Tensor, sigma: Tensor, cond: Any) -> Tensor:
    """Evaluate ``denoise`` at the scalar level ``sigma``, broadcast to ``(B,)``."""
    return denoise(x, sigma.expand(x.shape[0]), cond)


def to_d(x: Tensor, denoised: Tensor, sigma: Tensor) -> Tensor:
    """ODE derivative ``d = (x - x0_hat) / sigma`` (VE: Karras Eq. 3 direction; flow: the velocity)."""
    return (x - denoised) / sigma


def churn(x: Tensor, sigma: Tensor, n_steps: int, process: str, generator: torch.Generator | None,
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
    sigma_hat = from_ve_sigma(ve_sigma(sigma, process) * (1.0 + gamma), process)
    if float(sigma_hat) <= float(sigma):  # flow at t = 1: already pure noise
        return x, sigma
    z = randn_like(x, generator) * s_noise
    return renoise(x, sigma, sigma_hat, z, process), sigma_hat


def emit(callback: Callable[[dict], Any] | None, i: int, x: Tensor, sigma: Tensor, sigma_hat: Tensor,
         denoised: Tensor) -> None:
    """k-diffusion's callback payload: ``{"i", "x", "sigma", "sigma_hat", "denoised"}``."""
    if callback is not None:
        callback({"i": i, "x": x, "sigma": sigma, "sigma_hat": sigma_hat, "denoised": denoised})
