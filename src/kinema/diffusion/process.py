"""The noise process: one object per state convention, holding the formulas every sampler shares.

Both processes write the noisy state as ``x = alpha(sigma) * x0 + sigma * eps`` (the forward process of
Ho et al. 2020, Eq. 4, in the notation of Karras et al. 2022, "Elucidating the Design Space of
Diffusion-Based Generative Models", Sec. 2):

* ``VE`` ("ve")    : ``alpha = 1``, sigma in (0, inf). VP-trained models (DDPM) live here after dividing
  their state by ``sqrt(alphā)``: ``sigma = sqrt((1 - alphā) / alphā)`` (see :mod:`kinema.diffusion.vp`).
* ``FLOW`` ("flow"): ``alpha = 1 - sigma``, sigma = t in [0, 1] (rectified flow, Liu et al. 2022).

Dividing a flow state by ``alpha`` gives a VE state with ``sigma_ve = sigma / (1 - sigma)``; that
map lets one re-noising formula serve both.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from kinema.errors import ConfigError


class Process(str):
    """A noise process; a ``str`` (its name), so configs, metadata and ``process == "flow"`` keep working.
    The parameterization carries one, the samplers receive it.

    Each process defines ``alpha``, ``from_ve_sigma`` (the inverse of :meth:`ve_sigma`) and
    ``ancestral_sigma_down``; the rest is shared."""

    sigma_max: float  # largest sigma the process admits (pure noise for flow)
    label: str  # how error messages name the models of this process

    @property
    def bounded(self) -> bool:
        """Whether sigma lies in ``[0, sigma_max]`` (flow ``t``) rather than ``(0, inf)`` (VE)."""
        return math.isfinite(self.sigma_max)

    def ve_sigma(self, sigma: Tensor) -> Tensor:
        """The VE-equivalent level ``sigma / alpha(sigma)`` (inf at flow sigma = 1)."""
        return sigma / self.alpha(sigma)

    def renoise(self, x: Tensor, sigma_from: Tensor, sigma_to: Tensor, noise: Tensor) -> Tensor:
        """Move a state from ``sigma_from`` to a higher-or-equal *VE-equivalent* level ``sigma_to``.

        ``x = a x0 + s eps`` becomes ``(a'/a) x = a' x0 + (a' s / a) eps``, and fresh noise of variance
        ``sigma_to^2 - (a' s / a)^2`` completes the level ``sigma_to``. With ``alpha = 1`` this is the
        VE rule ``x + sqrt(sigma_to^2 - sigma_from^2) z`` (Karras et al. 2022, Alg. 2 line 5); for flow
        it is the rectified-flow re-noising of ancestral samplers. Scalars or tensors broadcastable to ``x``.
        """
        a_from, a_to = self.alpha(sigma_from), self.alpha(sigma_to)
        carried = a_to * sigma_from / a_from  # noise std that the rescaled state already carries
        fresh_std = (sigma_to**2 - carried**2).clamp(min=0.0).sqrt()
        return (a_to / a_from) * x + fresh_std * noise


class _VE(Process):
    sigma_max, label = math.inf, "VE (eps / v / x0 / EDM)"

    def alpha(self, sigma: Any) -> Any:
        """Signal coefficient ``alpha(sigma)`` in ``x = alpha x0 + sigma eps`` (a float for a float sigma)."""
        return torch.ones_like(sigma) if isinstance(sigma, Tensor) else 1.0

    def from_ve_sigma(self, sigma_ve: Tensor) -> Tensor:
        return sigma_ve

    def ancestral_sigma_down(self, sigma: Tensor, sigma_next: Tensor, eta: float) -> Tensor:
        """Where an ancestral step's deterministic part lands before re-noising to ``sigma_next``:
        Song et al. 2021 ("DDIM") Eq. 12 in VE form, ``sqrt(sigma'^2 - sigma_up^2)``."""
        sigma_up = (eta * (sigma_next**2 * (sigma**2 - sigma_next**2) / sigma**2).sqrt()).clamp(max=sigma_next)
        return (sigma_next**2 - sigma_up**2).sqrt()


class _Flow(Process):
    sigma_max, label = 1.0, "rectified-flow"

    def alpha(self, sigma: Any) -> Any:
        return 1.0 - sigma

    def from_ve_sigma(self, sigma_ve: Tensor) -> Tensor:
        """``t = s / (1 + s)`` (1 at ``s = inf``)."""
        return torch.where(torch.isinf(sigma_ve), torch.ones_like(sigma_ve), sigma_ve / (1.0 + sigma_ve))

    def ancestral_sigma_down(self, sigma: Tensor, sigma_next: Tensor, eta: float) -> Tensor:
        """``t' (1 + (t'/t - 1) eta)``: the "RF" ancestral step of diffusers' ``LTXEulerAncestralRFScheduler``."""
        return sigma_next * (1.0 + (sigma_next / sigma - 1.0) * eta)


VE, FLOW = _VE("ve"), _Flow("flow")
PROCESSES: tuple[Process, ...] = (VE, FLOW)


def get_process(process: str) -> Process:
    """The :class:`Process` named ``process`` ("ve" | "flow"), or a ConfigError naming the accepted values."""
    if process in PROCESSES:
        return PROCESSES[PROCESSES.index(process)]
    raise ConfigError(f"process={process!r} is not one of {list(PROCESSES)}")


check_process = get_process  # the name before the Process object


def process_of(obj: Any) -> Process | None:
    """``obj`` as a process (a name), or the one it carries (``obj.process``: a Denoiser, a Parameterization),
    else that of the callable a wrapper keeps as ``obj.denoise`` (guidance, known frames); None if none."""
    if isinstance(obj, str):
        return get_process(obj)
    for _ in range(8):  # a bounded walk down the ``.denoise`` chain
        if isinstance(getattr(obj, "process", None), str):
            return get_process(obj.process)
        obj = getattr(obj, "denoise", None)
    return None


def alpha(sigma: Tensor, process: str) -> Tensor:  # the function form of Process.alpha
    return get_process(process).alpha(sigma)


def renoise(x: Tensor, sigma_from: Tensor, sigma_to: Tensor, noise: Tensor, process: str) -> Tensor:
    return get_process(process).renoise(x, sigma_from, sigma_to, noise)  # the function form of Process.renoise


def randn(shape, generator: torch.Generator | None, device=None, dtype: torch.dtype = torch.float32) -> Tensor:
    """Standard normal ``shape`` in ``dtype``, drawn on the generator's device (else ``device``, else the
    CPU) and moved to ``device``: the stream depends on the generator alone, as in diffusers."""
    draw_on = generator.device if generator is not None else (device or torch.device("cpu"))
    eps = torch.randn(tuple(shape), generator=generator, device=draw_on, dtype=dtype)
    return eps if device is None else eps.to(device)
