"""First- and second-order ODE samplers: Euler and Heun (Karras Alg. 2).

With ``d = (x - x0_hat) / sigma`` the probability-flow ODE is ``dx/dsigma = d`` in both state
conventions (VE: Karras et al. 2022 Eq. 3 with ``sigma(t) = t``; flow: ``d`` is the velocity
``eps - x0``), so one loop serves VE and rectified-flow models. The registry also names them
``flow_euler`` / ``flow_heun`` (Liu et al. 2022, "Flow Straight and Fast"; SD3, Esser et al. 2024).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import Tensor

from kinema.sampling.samplers._common import Denoise, call, churn, emit, prepare, to_d


def _ode_loop(name: str, denoise: Denoise, x: Tensor, sigmas: Tensor, *, cond: Any, generator, callback,
              second_order: bool, s_churn: float, s_tmin: float, s_tmax: float, s_noise: float,
              process: str | None) -> Tensor:
    process, sig = prepare(name, denoise, x, sigmas, process)
    n = len(sig) - 1
    for i in range(n):
        sigma, sigma_next = sig[i], sig[i + 1]
        x, sigma_hat = churn(x, sigma, n, process, generator, s_churn, s_tmin, s_tmax, s_noise)
        denoised = call(denoise, x, sigma_hat, cond)
        d = to_d(x, denoised, sigma_hat)
        emit(callback, i, x, sigma, sigma_hat, denoised)
        x_next = x + (sigma_next - sigma_hat) * d  # Euler step (Alg. 2 line 8)
        if second_order and float(sigma_next) > 0:  # Heun correction (Alg. 2 lines 9-11)
            d_next = to_d(x_next, call(denoise, x_next, sigma_next, cond), sigma_next)
            x_next = x + (sigma_next - sigma_hat) * (d + d_next) / 2
        x = x_next
    return x


def sample_euler(denoise: Denoise, x: Tensor, sigmas: Tensor, *, cond: Any = None,
                 generator: torch.Generator | None = None, callback: Callable | None = None,
                 s_churn: float = 0.0, s_tmin: float = 0.0, s_tmax: float = math.inf, s_noise: float = 1.0,
                 process: str | None = None) -> Tensor:
    """Euler's method on the probability-flow ODE (Karras et al. 2022, "Elucidating the Design Space
    of Diffusion-Based Generative Models", Alg. 2 without the second-order step; optional churn).

    Matches diffusers' ``EulerDiscreteScheduler``; for flow models it is ``x += (t' - t) v``.
    """
    return _ode_loop("euler", denoise, x, sigmas, cond=cond, generator=generator, callback=callback,
                     second_order=False, s_churn=s_churn, s_tmin=s_tmin, s_tmax=s_tmax, s_noise=s_noise,
                     process=process)


def sample_heun(denoise: Denoise, x: Tensor, sigmas: Tensor, *, cond: Any = None,
                generator: torch.Generator | None = None, callback: Callable | None = None,
                s_churn: float = 0.0, s_tmin: float = 0.0, s_tmax: float = math.inf, s_noise: float = 1.0,
                process: str | None = None) -> Tensor:
    """Heun's 2nd-order method with optional churn: Karras et al. 2022, Alg. 2 (the EDM sampler).

    Two model calls per step, an Euler step into ``sigma = 0`` at the end. Matches diffusers'
    ``HeunDiscreteScheduler`` (and ``FlowMatchHeunDiscreteScheduler`` for flow models).
    """
    return _ode_loop("heun", denoise, x, sigmas, cond=cond, generator=generator, callback=callback,
                     second_order=True, s_churn=s_churn, s_tmin=s_tmin, s_tmax=s_tmax, s_noise=s_noise,
                     process=process)

