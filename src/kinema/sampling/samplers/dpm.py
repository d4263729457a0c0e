"""DPM-Solver++(2M): the second-order multistep data-prediction solver.

Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion Probabilistic
Models", Alg. 2, written for ``x = alpha x0 + sigma eps`` with ``lambda = log(alpha / sigma)``
(VE: ``alpha = 1``; flow: ``alpha = 1 - t``):

    h = lambda' - lambda,  r = h_prev / h
    D = (1 + 1/(2r)) x0_hat - 1/(2r) x0_hat_prev          (first step and last step: D = x0_hat)
    x' = (sigma'/sigma) x - alpha' (exp(-h) - 1) D
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from kinema.sampling.samplers._common import Denoise, call, emit, prepare


def sample_dpmpp_2m(denoise: Denoise, x: Tensor, sigmas: Tensor, *, cond: Any = None,
                    generator: torch.Generator | None = None, callback: Callable | None = None,
                    process: str | None = None) -> Tensor:
    """DPM-Solver++(2M) (Lu et al. 2022, Alg. 2), first order on the first and the final step.

    Matches diffusers' ``DPMSolverMultistepScheduler(algorithm_type="dpmsolver++", solver_order=2)``
    (with ``use_flow_sigmas=True`` for flow models). Deterministic: ``generator`` is unused.
    """
    process, sig = prepare("dpmpp_2m", denoise, x, sigmas, process)
    old_denoised, h_prev = None, None
    for i in range(len(sig) - 1):
        sigma, sigma_next = sig[i], sig[i + 1]
        denoised = call(denoise, x, sigma, cond)
        emit(callback, i, x, sigma, sigma, denoised)
        if float(sigma_next) == 0.0:  # final step: x0_hat itself (the first-order limit)
            x = denoised
            continue
        a, a_next = process.alpha(sigma), process.alpha(sigma_next)
        h = (a_next / sigma_next).log() - (a / sigma).log()  # lambda' - lambda (inf from flow t = 1)
        if old_denoised is None or not bool(torch.isfinite(h_prev)):
            d = denoised
        else:
            half_inv_r = h / (2 * h_prev)  # 1 / (2r)
            d = (1 + half_inv_r) * denoised - half_inv_r * old_denoised
        x = (sigma_next / sigma) * x - a_next * torch.expm1(-h) * d
        old_denoised, h_prev = denoised, h
    return x
