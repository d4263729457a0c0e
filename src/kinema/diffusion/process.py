"""The two noise-process state conventions and the few formulas every sampler shares.

Both conventions write the noisy state as ``x = alpha(sigma) * x0 + sigma * eps`` (survey Eq. 2's
forward process, in the notation of Karras et al. 2022, "Elucidating the Design Space of
Diffusion-Based Generative Models", Sec. 2):

* ``"ve"``  : ``alpha = 1``, sigma in (0, inf). VP-trained models (DDPM) live here after dividing
  their state by ``sqrt(alphā)``: ``sigma = sqrt((1 - alphā) / alphā)``.
* ``"flow"``: ``alpha = 1 - sigma``, sigma = t in [0, 1] (rectified flow, Liu et al. 2022).

Dividing a flow state by ``alpha`` gives a VE state with ``sigma_ve = sigma / (1 - sigma)``; that
map lets one re-noising formula serve both processes.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kinema.errors import ConfigError

PROCESSES: tuple[str, ...] = ("ve", "flow")


def check_process(process: str) -> str:
    """Return ``process`` or raise a ConfigError naming the accepted values."""
    if process not in PROCESSES:
        raise ConfigError(f"process={process!r} is not one of {list(PROCESSES)}")
    return process


def alpha(sigma: Tensor, process: str) -> Tensor:
    """Signal coefficient ``alpha(sigma)`` in ``x = alpha x0 + sigma eps``: 1 (VE) or ``1 - sigma`` (flow)."""
    check_process(process)
    return torch.ones_like(sigma) if process == "ve" else 1.0 - sigma


def sigma_max_of(process: str) -> float:
    """Largest sigma a process admits: inf for VE, 1 for flow (pure noise)."""
    return float("inf") if check_process(process) == "ve" else 1.0


def renoise(x: Tensor, sigma_from: Tensor, sigma_to: Tensor, noise: Tensor, process: str) -> Tensor:
    """Move a state from noise level ``sigma_from`` to a higher-or-equal *VE-equivalent* level ``sigma_to``.

    ``x = a x0 + s eps`` becomes ``(a'/a) x = a' x0 + (a' s / a) eps``, and fresh noise of variance
    ``sigma_to^2 - (a' s / a)^2`` completes the level ``sigma_to``. With ``alpha = 1`` this is the
    VE rule ``x + sqrt(sigma_to^2 - sigma_from^2) z`` (Karras et al. 2022, Alg. 2 line 5); for flow it
    is the rectified-flow re-noising of ancestral samplers. Scalars or tensors broadcastable to ``x``.
    """
    a_from, a_to = alpha(sigma_from, process), alpha(sigma_to, process)
    carried = a_to * sigma_from / a_from  # noise std that the rescaled state already carries
    fresh_std = (sigma_to**2 - carried**2).clamp(min=0.0).sqrt()
    return (a_to / a_from) * x + fresh_std * noise


def ve_sigma(sigma: Tensor, process: str) -> Tensor:
    """The VE-equivalent level ``sigma / alpha(sigma)`` (inf at flow sigma = 1)."""
    return sigma / alpha(sigma, process)


def from_ve_sigma(sigma_ve: Tensor, process: str) -> Tensor:
    """Inverse of :func:`ve_sigma`: flow ``t = s / (1 + s)``; VE unchanged."""
    check_process(process)
    if process == "ve":
        return sigma_ve
    return torch.where(torch.isinf(sigma_ve), torch.ones_like(sigma_ve), sigma_ve / (1.0 + sigma_ve))
