"""Samplers as plain functions with one signature (k-diffusion's; docs/contracts.md):

``sample_<name>(denoise, x, sigmas, *, cond=None, generator=None, callback=None, process=None, **opts) -> x``

``denoise(x, sigma (B,), cond) -> x0_hat``; ``sigmas`` descending, ending in 0; ``x`` starts at
``param.prior(noise, sigmas[0])``. ``process`` is the model's :class:`kinema.diffusion.Process` (the
pipeline passes ``denoiser.process``; omitted, :func:`kinema.diffusion.process_of` reads it from
``denoise``, else VE); a sampler refuses a process it does not serve with a ConfigError.
``SAMPLER_PROCESSES`` is the one registry, plain data that ``kinema animate --help`` reads without
torch; ``SAMPLERS`` (name -> function) and the functions load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from kinema.errors import ConfigError

_ALL = ("ve", "flow")
SAMPLER_PROCESSES: dict[str, tuple[str, ...]] = {
    "euler": _ALL, "heun": _ALL, "dpmpp_2m": _ALL, "ddim": ("ve",), "ddpm": ("ve",), "euler_a": _ALL,
    "flow_euler": ("flow",), "flow_heun": ("flow",),
}
ALIASES: dict[str, str] = {"flow_euler": "euler", "flow_heun": "heun"}  # the rectified-flow names of Euler / Heun


def samplers_for(process: str) -> list[str]:
    """Names of the samplers defined for ``process`` ("ve" or "flow")."""
    return sorted(k for k, v in SAMPLER_PROCESSES.items() if process in v)


def sampler_help() -> str:
    """The ``--sampler`` help of the CLI: every name, and those that serve one process only."""
    only = {p: ", ".join(k for k, v in SAMPLER_PROCESSES.items() if v == (p,)) for p in _ALL}
    return f"{', '.join(SAMPLER_PROCESSES)} ({'; '.join(f'{n}: {p} models only' for p, n in only.items() if n)})"


def check_sampler(name: str, process: Any = None):
    """The :class:`~kinema.diffusion.Process` of ``process`` (a name, or what carries one: a Denoiser,
    a Parameterization); a ConfigError when sampler ``name`` is unknown or not defined for it.
    With ``process=None`` only the name is checked."""
    if name not in SAMPLER_PROCESSES:
        raise ConfigError(f"sampler={name!r} is not one of {sorted(SAMPLER_PROCESSES)}")
    if process is None:
        return None
    from kinema.diffusion.process import process_of

    found = process_of(process)
    if found is None:
        raise ConfigError(f"cannot tell the process of {type(process).__name__}; pass 've' or 'flow'")
    if found not in SAMPLER_PROCESSES[name]:
        raise ConfigError(f"sampler {name!r} is not defined for {found.label} models (process={found!r}); "
                          f"samplers for this model: {samplers_for(found)}")
    return found


def get_sampler(name: str, process: Any = None):
    """``SAMPLERS[name]``, checked against ``process`` when given (ConfigError on a mismatch)."""
    check_sampler(name, process)
    return __getattr__("SAMPLERS")[name]


def __getattr__(attr: str) -> Any:  # SAMPLERS and the sample_* functions import torch: load them on first use
    module = importlib.import_module("kinema.sampling.samplers._registry")
    try:
        return getattr(module, attr)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {attr!r}") from None


__all__ = [
    "ALIASES", "SAMPLERS", "SAMPLER_PROCESSES", "check_sampler", "get_sampler", "resolve_process", "sample_ddim",
    "sample_ddpm", "sample_dpmpp_2m", "sample_euler", "sample_euler_ancestral", "sample_flow_euler", "sample_flow_heun",
    "sample_heun", "sampler_help", "samplers_for"
]
