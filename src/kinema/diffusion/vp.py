"""Discrete variance-preserving (DDPM) noise schedules and their VE sigma tables.

DDPM (Ho et al. 2020) trains on ``N`` discrete timesteps with ``x_t = sqrt(alphā_t) x0 +
sqrt(1 - alphā_t) eps`` (the forward process behind Wang et al. 2026, I2V survey Eq. 2). Dividing by ``sqrt(alphā_t)``
gives the VE state ``x0 + sigma_t eps`` with ``sigma_t = sqrt((1 - alphā_t) / alphā_t)``; the
timestep of any sigma is recovered by linear interpolation of ``t`` in ``log sigma``
(k-diffusion's ``sigma_to_t``; diffusers' ``_sigma_to_t``).

Beta schedules (names as in diffusers):

* ``linear``: ``beta`` linear from ``beta_start`` to ``beta_end`` (DDPM).
* ``scaled_linear``: ``sqrt(beta)`` linear (Stable Diffusion, ``0.00085 .. 0.012``).
* ``squaredcos_cap_v2`` / ``cosine``: ``alphā(t) = cos^2((t/N + s) / (1 + s) * pi/2)``, ``s = 0.008``,
  betas capped at 0.999 (Nichol & Dhariwal 2021, "Improved DDPM", Eq. 17).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from kinema.errors import ConfigError

BETA_SCHEDULES: tuple[str, ...] = ("linear", "scaled_linear", "squaredcos_cap_v2", "cosine")


def make_betas(schedule: str = "linear", num_train_timesteps: int = 1000, beta_start: float = 1e-4,
               beta_end: float = 0.02) -> Tensor:
    """Betas ``(N,)`` float64 of the named VP schedule (``beta_start/end`` unused for cosine)."""
    n = num_train_timesteps
    if n < 2:
        raise ConfigError(f"num_train_timesteps={n!r} must be >= 2")
    if schedule == "linear":
        return torch.linspace(beta_start, beta_end, n, dtype=torch.float64)
    if schedule == "scaled_linear":
        return torch.linspace(beta_start**0.5, beta_end**0.5, n, dtype=torch.float64) ** 2
    if schedule in ("squaredcos_cap_v2", "cosine"):
        return _cosine_betas(n)
    raise ConfigError(f"beta schedule={schedule!r} is not one of {list(BETA_SCHEDULES)}")


def _cosine_betas(n: int, s: float = 0.008, max_beta: float = 0.999) -> Tensor:
    """Improved-DDPM betas: ``1 - alphā((i+1)/n) / alphā(i/n)``, capped at ``max_beta``."""
    def alpha_bar(u: float) -> float:
        return math.cos((u + s) / (1 + s) * math.pi / 2) ** 2

    betas = [min(1 - alpha_bar((i + 1) / n) / alpha_bar(i / n), max_beta) for i in range(n)]
    return torch.tensor(betas, dtype=torch.float64)


def _interp(x: Tensor, xp: Tensor, fp: Tensor) -> Tensor:
    """Piecewise-linear ``np.interp`` for increasing ``xp``; clamps outside ``[xp[0], xp[-1]]``."""
    x = x.clamp(xp[0], xp[-1])
    hi = torch.searchsorted(xp, x).clamp(1, len(xp) - 1)
    lo = hi - 1
    w = (x - xp[lo]) / (xp[hi] - xp[lo])
    return fp[lo] + w * (fp[hi] - fp[lo])


def _work_dtype(device: torch.device) -> torch.dtype:
    """float64 where the device has it (tables are precise there); float32 elsewhere (MPS)."""
    return torch.float64 if device.type in ("cpu", "cuda") else torch.float32


class VPSchedule:
    """A discrete VP schedule: ``betas``, ``alphas_cumprod`` and the VE table ``sigmas`` (all ``(N,)``)."""

    def __init__(self, schedule: str = "linear", num_train_timesteps: int = 1000, beta_start: float = 1e-4,
                 beta_end: float = 0.02) -> None:
        self.schedule = schedule
        self.num_train_timesteps = num_train_timesteps
        self.beta_start, self.beta_end = beta_start, beta_end
        self.betas = make_betas(schedule, num_train_timesteps, beta_start, beta_end)  # (N,) float64
        # alphā in float32, as DDPM / diffusers training computed it, so a ported model sees its own table
        alphas_cumprod = torch.cumprod(1.0 - self.betas.float(), dim=0)  # alphā_t, (N,)
        self.alphas_cumprod = alphas_cumprod.double()
        self.sigmas = ((1 - self.alphas_cumprod) / self.alphas_cumprod).sqrt()  # increasing in t, (N,)
        self.log_sigmas = self.sigmas.log()

    @property
    def sigma_min(self) -> float:
        return float(self.sigmas[0])

    @property
    def sigma_max(self) -> float:
        return float(self.sigmas[-1])

    def sigma_to_t(self, sigma: Tensor) -> Tensor:
        """Fractional timestep of ``sigma``: ``t`` linear in ``log sigma`` between table entries, clamped."""
        dt = _work_dtype(sigma.device)
        log_sigmas = self.log_sigmas.to(sigma.device, dt)
        steps = torch.arange(len(log_sigmas), device=sigma.device, dtype=dt)
        log_sigma = sigma.to(dt).clamp(min=1e-10).log()
        return _interp(log_sigma, log_sigmas, steps).to(torch.float32)

    def t_to_sigma(self, t: Tensor) -> Tensor:
        """Sigma of a (fractional) timestep: ``log sigma`` linear in ``t`` (exact inverse of ``sigma_to_t``)."""
        t = torch.as_tensor(t)
        dt = _work_dtype(t.device)
        log_sigmas = self.log_sigmas.to(t.device, dt)
        steps = torch.arange(len(log_sigmas), device=t.device, dtype=dt)
        return _interp(t.to(dt), steps, log_sigmas).exp().to(torch.float32)
