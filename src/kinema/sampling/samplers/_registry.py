"""The registry's names bound to their functions (imports torch; the package loads it on first use)."""

from __future__ import annotations

from typing import Any, Callable

from kinema.sampling.samplers import ALIASES, SAMPLER_PROCESSES, check_sampler
from kinema.sampling.samplers._common import resolve_process
from kinema.sampling.samplers.ancestral import sample_ddim, sample_ddpm, sample_euler_ancestral
from kinema.sampling.samplers.dpm import sample_dpmpp_2m
from kinema.sampling.samplers.ode import sample_euler, sample_heun


def _alias(name: str, fn: Callable) -> Callable:
    """``fn`` under the registry name ``name``, refused for the processes ``name`` does not serve."""
    def sample(denoise: Any, x, sigmas, *, process: str | None = None, **opts: Any):
        return fn(denoise, x, sigmas, process=check_sampler(name, resolve_process(denoise, process)), **opts)

    only = " / ".join(SAMPLER_PROCESSES[name])
    sample.__name__, sample.__doc__ = f"sample_{name}", f"``{ALIASES[name]}`` for {only} models only. {fn.__doc__}"
    return sample


SAMPLERS: dict[str, Callable] = {
    "ddpm": sample_ddpm, "ddim": sample_ddim, "euler": sample_euler, "euler_a": sample_euler_ancestral,
    "heun": sample_heun, "dpmpp_2m": sample_dpmpp_2m,
}
SAMPLERS.update({alias: _alias(alias, SAMPLERS[name]) for alias, name in ALIASES.items()})
sample_flow_euler, sample_flow_heun = SAMPLERS["flow_euler"], SAMPLERS["flow_heun"]
