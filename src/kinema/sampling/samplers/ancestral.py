"""Ancestral samplers: DDPM, DDIM(eta) and Euler ancestral.

In the VE state all three are one step (Song et al. 2021 "DDIM" Eq. 12, rewritten with
``sigma = sqrt((1 - alphā) / alphā)``): from ``sigma`` to ``sigma'``,

    sigma_up   = min(sigma', eta * sqrt(sigma'^2 (sigma^2 - sigma'^2) / sigma^2))
    sigma_down = sqrt(sigma'^2 - sigma_up^2)
    x' = x0_hat + sigma_down * (x - x0_hat) / sigma + sigma_up * z

``eta = 1`` is the DDPM posterior ``q(x_{t'} | x_t, x0)`` (Ho et al. 2020, Eq. 7, fixed-small
variance), ``eta = 0`` is deterministic DDIM (= Euler). Noise is drawn once per step with
``sigma' > 0`` and ``eta > 0``, so a generator gives the same stream as diffusers' schedulers.

For rectified flow the ancestral step must stay on the path ``(1 - t) x0 + t eps``: an Euler step
to ``t_down = t' (1 + (t'/t - 1) eta)`` then re-noising to ``t'`` with the flow rule of
:meth:`kinema.diffusion.Process.renoise` (the "RF" ancestral step of ComfyUI / diffusers'
``LTXEulerAncestralRFScheduler``). Both rules are methods of the :class:`~kinema.diffusion.Process`.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from kinema.diffusion.process import randn
from kinema.errors import ConfigError
from kinema.sampling.samplers._common import Denoise, call, emit, prepare, to_d


def _ancestral_loop(name: str, denoise: Denoise, x: Tensor, sigmas: Tensor, *, cond: Any, generator, callback,
                    eta: float, s_noise: float, process: str | None) -> Tensor:
    if not 0.0 <= eta <= 1.0:
        raise ConfigError(f"{name}: eta={eta!r} is outside the accepted range [0, 1]")
    process, sig = prepare(name, denoise, x, sigmas, process)
    for i in range(len(sig) - 1):
        sigma, sigma_next = sig[i], sig[i + 1]
        denoised = call(denoise, x, sigma, cond)
        emit(callback, i, x, sigma, sigma, denoised)
        if float(sigma_next) == 0.0:
            x = denoised
            continue
        sigma_down = process.ancestral_sigma_down(sigma, sigma_next, eta)
        x = x + (sigma_down - sigma) * to_d(x, denoised, sigma)
        if eta > 0 and float(sigma_down) < float(sigma_next):
            z = randn(x.shape, generator, x.device, x.dtype) * s_noise
            x = process.renoise(x, sigma_down, sigma_next, z)
    return x


def sample_ddpm(denoise: Denoise, x: Tensor, sigmas: Tensor, *, cond: Any = None,
                generator: torch.Generator | None = None, callback: Callable | None = None,
                s_noise: float = 1.0, process: str | None = None) -> Tensor:
    """DDPM ancestral sampling (Ho et al. 2020, "Denoising Diffusion Probabilistic Models", Alg. 2):
    each step draws from the posterior ``q(x_{t'} | x_t, x0_hat)`` (fixed-small variance), also when
    steps are skipped. VE models only; matches diffusers' ``DDPMScheduler`` (``clip_sample=False``).
    """
    return _ancestral_loop("ddpm", denoise, x, sigmas, cond=cond, generator=generator, callback=callback,
                           eta=1.0, s_noise=s_noise, process=process)


def sample_ddim(denoise: Denoise, x: Tensor, sigmas: Tensor, *, cond: Any = None,
                generator: torch.Generator | None = None, callback: Callable | None = None,
                eta: float = 0.0, s_noise: float = 1.0, process: str | None = None) -> Tensor:
    """DDIM (Song, Meng & Ermon 2021, "Denoising Diffusion Implicit Models", Eq. 12): deterministic
    at ``eta = 0``, DDPM-like at ``eta = 1``. VE models only; matches ``DDIMScheduler(eta)``
    (``clip_sample=False``).
    """
    return _ancestral_loop("ddim", denoise, x, sigmas, cond=cond, generator=generator, callback=callback,
                           eta=eta, s_noise=s_noise, process=process)


def sample_euler_ancestral(denoise: Denoise, x: Tensor, sigmas: Tensor, *, cond: Any = None,
                           generator: torch.Generator | None = None, callback: Callable | None = None,
                           eta: float = 1.0, s_noise: float = 1.0, process: str | None = None) -> Tensor:
    """Euler ancestral (k-diffusion, Crowson 2022; the ancestral step of Song et al. 2021 / Ho et al.
    2020 taken with Euler's method): an Euler step down to ``sigma_down``, then fresh noise up to
    ``sigma'``. VE: matches ``EulerAncestralDiscreteScheduler`` (``eta = 1``); flow: the RF
    ancestral step of ``LTXEulerAncestralRFScheduler``.
    """
    return _ancestral_loop("euler_a", denoise, x, sigmas, cond=cond, generator=generator, callback=callback,
                           eta=eta, s_noise=s_noise, process=process)
