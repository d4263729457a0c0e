"""Samplers as plain functions with one signature (k-diffusion's; docs/contracts.md):

``sample_<name>(denoise, x, sigmas, *, cond=None, generator=None, callback=None, **opts) -> x``

``denoise(x, sigma (B,), cond) -> x0_hat``; ``sigmas`` descending, ending in 0; ``x`` starts at
``param.prior(noise, sigmas[0])``. Every sampler takes ``process=`` ("ve" | "flow"); when omitted it
is read from ``denoise.process`` (a :class:`kinema.diffusion.Denoiser` has it), else "ve". A
sampler used with a process it is not defined for raises a ConfigError (``SAMPLER_PROCESSES``).
"""

from __future__ import annotations

from typing import Callable

from kinema.errors import ConfigError
from kinema.sampling.samplers._common import SAMPLER_PROCESSES, check_sampler, resolve_process
from kinema.sampling.samplers.ancestral import (
    ancestral_sigma_down, sample_ddim, sample_ddpm, sample_euler_ancestral,
)
from kinema.sampling.samplers.dpm import sample_dpmpp_2m
from kinema.sampling.samplers.ode import sample_euler, sample_flow_euler, sample_flow_heun, sample_heun

SAMPLERS: dict[str, Callable] = {
    "ddpm": sample_ddpm,
    "ddim": sample_ddim,
    "euler": sample_euler,
    "euler_a": sample_euler_ancestral,
    "heun": sample_heun,
    "dpmpp_2m": sample_dpmpp_2m,
    "flow_euler": sample_flow_euler,
    "flow_heun": sample_flow_heun,
}


def get_sampler(name: str, process: str | None = None) -> Callable:
    """``SAMPLERS[name]``, checked against ``process`` when given (ConfigError on a mismatch)."""
    if name not in SAMPLERS:
        raise ConfigError(f"sampler={name!r} is not one of {sorted(SAMPLERS)}")
    if process is not None:
        check_sampler(name, process)
    return SAMPLERS[name]


def samplers_for(process: str) -> list[str]:
    """Names of the samplers defined for ``process`` ("ve" or "flow")."""
    return sorted(k for k, v in SAMPLER_PROCESSES.items() if process in v)


__all__ = [
    "SAMPLERS", "SAMPLER_PROCESSES", "ancestral_sigma_down", "check_sampler", "get_sampler", "resolve_process",
    "sample_ddim", "sample_ddpm", "sample_dpmpp_2m", "sample_euler", "sample_euler_ancestral",
    "sample_flow_euler", "sample_flow_heun", "sample_heun", "samplers_for",
]
