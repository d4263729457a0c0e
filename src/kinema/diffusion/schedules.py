"""Sampling schedules: the descending ``sigmas`` a sampler walks, ending in 0.

Kinds (``get_sigmas(param, n_steps, kind=...)``):

* ``"vp"``: the discrete timesteps of a DDPM-trained model, spaced as in Lin et al. 2024
  ("Common Diffusion Noise Schedules and Sample Steps are Flawed", Table 2; diffusers'
  ``timestep_spacing``): ``leading``, ``trailing`` (default) or ``linspace``; or explicit
  ``timesteps=[...]``. Fractional timesteps (``linspace``) get sigma by interpolating ``log sigma``
  (k-diffusion); diffusers interpolates sigma linearly there, so the two agree only at integers.
* ``"karras"``: Karras et al. 2022, Eq. 5: ``(s_max^(1/rho) + i/(n-1) (s_min^(1/rho) - s_max^(1/rho)))^rho``.
* ``"flow"``: rectified-flow ``t`` linear from 1 to ``t_min``, then shifted
  ``t' = shift t / (1 + (shift - 1) t)`` (SD3, Esser et al. 2024, Sec. 5.3.2); the
  resolution-dependent shift of SD3/Flux is :func:`flow_shift_for_resolution`.

``make_betas`` (the VP beta schedules) lives in :mod:`kinema.diffusion.vp` and is re-exported.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import Tensor

from kinema.diffusion.parameterization import FlowParam, Parameterization, _VPParam
from kinema.diffusion.vp import BETA_SCHEDULES, make_betas  # noqa: F401  (re-exported)
from kinema.errors import ConfigError

SCHEDULE_KINDS: tuple[str, ...] = ("vp", "karras", "flow")
SPACINGS: tuple[str, ...] = ("leading", "trailing", "linspace")


def vp_timesteps(n_steps: int, spacing: str = "trailing", num_train_timesteps: int = 1000,
                 steps_offset: int = 0) -> Tensor:
    """Descending (possibly fractional) timesteps ``(n_steps,)`` float64 of the named spacing."""
    n, big_n = n_steps, num_train_timesteps
    i = torch.arange(n, dtype=torch.float64)
    if spacing == "leading":  # 0, r, 2r, ... with r = N // n, reversed
        return (i * (big_n // n)).round().flip(0) + steps_offset
    if spacing == "trailing":  # N-1, N-1-N/n, ... (ends near N/n - 1)
        return (big_n - i * big_n / n).round() - 1
    if spacing == "linspace":  # N-1 .. 0 evenly, fractional
        return torch.linspace(0, big_n - 1, n, dtype=torch.float64).flip(0)
    raise ConfigError(f"timestep spacing={spacing!r} is not one of {list(SPACINGS)}")


def karras_sigmas(n_steps: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> Tensor:
    """Karras et al. 2022, Eq. 5: ``(n_steps,)`` float64 from ``sigma_max`` down to ``sigma_min``."""
    if not 0.0 < sigma_min < sigma_max:
        raise ConfigError(f"karras needs 0 < sigma_min < sigma_max, got {sigma_min!r}, {sigma_max!r}")
    ramp = torch.linspace(0, 1, n_steps, dtype=torch.float64)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return (hi + ramp * (lo - hi)) ** rho


def flow_time_shift(t: Tensor, shift: float) -> Tensor:
    """``shift t / (1 + (shift - 1) t)``: spends more steps at high noise for ``shift > 1`` (SD3 Eq. 23)."""
    return shift * t / (1 + (shift - 1) * t)


def flow_shift_for_resolution(num_tokens: int, base_shift: float = 0.5, max_shift: float = 1.15,
                              base_len: int = 256, max_len: int = 4096) -> float:
    """Resolution-dependent shift (SD3 / Flux): ``mu`` linear in the token count, ``shift = exp(mu)``.

    ``mu = base_shift`` at ``base_len`` tokens and ``max_shift`` at ``max_len`` (extrapolated beyond).
    """
    if num_tokens < 1 or max_len == base_len:
        raise ConfigError(f"num_tokens={num_tokens!r} must be >= 1 and max_len != base_len")
    slope = (max_shift - base_shift) / (max_len - base_len)
    mu = base_shift + slope * (num_tokens - base_len)
    return math.exp(mu)


def flow_sigmas(n_steps: int, shift: float = 1.0, t_min: float = 1e-3, t_max: float = 1.0) -> Tensor:
    """Rectified-flow ``(n_steps,)`` float64: ``t`` linear from ``t_max`` to ``t_min``, shifted."""
    if not 0.0 < t_min < t_max <= 1.0:
        raise ConfigError(f"flow schedule needs 0 < t_min < t_max <= 1, got t_min={t_min!r}, t_max={t_max!r}")
    if shift <= 0:
        raise ConfigError(f"flow shift={shift!r} must be > 0")
    return flow_time_shift(torch.linspace(t_max, t_min, n_steps, dtype=torch.float64), shift)


def _vp(param: Parameterization, n: int, spacing: str = "trailing", steps_offset: int = 0,
        timesteps: Sequence[float] | None = None) -> Tensor:
    if not isinstance(param, _VPParam):
        raise ConfigError(f"schedule kind 'vp' needs a VP-trained parameterization (eps, v, x0), got {param.name!r}")
    sch = param.schedule
    if timesteps is None:
        t = vp_timesteps(n, spacing, sch.num_train_timesteps, steps_offset)
    else:
        t = torch.as_tensor(timesteps, dtype=torch.float64)
    if t.min() < 0 or t.max() > sch.num_train_timesteps - 1:
        raise ConfigError(f"vp timesteps must lie in [0, {sch.num_train_timesteps - 1}], got {t.tolist()}")
    return sch.t_to_sigma(t).double()


def _karras(param: Parameterization, n: int, sigma_min: float | None = None, sigma_max: float | None = None,
            rho: float = 7.0) -> Tensor:
    lo = param.sigma_min if sigma_min is None else sigma_min
    hi = param.sigma_max if sigma_max is None else sigma_max
    if hi > (top := param.process.sigma_max):
        raise ConfigError(f"karras sigma_max={hi!r} exceeds {top:g}, the largest {param.process} sigma")
    return karras_sigmas(n, lo, hi, rho)


def _flow(param: Parameterization, n: int, shift: float | None = None, num_tokens: int | None = None,
          t_min: float | None = None, t_max: float = 1.0) -> Tensor:
    if not isinstance(param, FlowParam):
        raise ConfigError(f"schedule kind 'flow' needs the flow parameterization, got {param.name!r}")
    if shift is not None and num_tokens is not None:
        raise ConfigError("flow schedule: pass shift= or num_tokens=, not both")
    if shift is None:
        shift = 1.0 if num_tokens is None else flow_shift_for_resolution(num_tokens)
    return flow_sigmas(n, shift, param.sigma_min if t_min is None else t_min, t_max)


_KINDS = {"vp": _vp, "karras": _karras, "flow": _flow}


def default_schedule_kind(param: Parameterization) -> str:
    """``vp`` for DDPM-trained parameterizations, ``flow`` for flow, ``karras`` for EDM."""
    if isinstance(param, _VPParam):
        return "vp"
    return "flow" if isinstance(param, FlowParam) else "karras"


def get_sigmas(param: Parameterization, n_steps: int, kind: str | None = None, *, num_tokens: int | None = None,
               **kw: Any) -> Tensor:
    """Descending float32 ``(n_steps + 1,)`` sigmas ending in 0 for ``param``.

    ``kind``: ``vp`` (kw: ``spacing``, ``steps_offset``, ``timesteps``), ``karras`` (kw:
    ``sigma_min``, ``sigma_max``, ``rho``), ``flow`` (kw: ``shift`` or ``num_tokens``, ``t_min``,
    ``t_max``). Default: :func:`default_schedule_kind`. ``num_tokens`` (``T h w``): flow only, others ignore it.
    """
    kind = default_schedule_kind(param) if kind is None else kind
    if kind not in _KINDS:
        raise ConfigError(f"schedule kind={kind!r} is not one of {list(SCHEDULE_KINDS)}")
    if num_tokens is not None and kind == "flow":
        kw["num_tokens"] = num_tokens
    if not isinstance(n_steps, int) or n_steps < 1:
        raise ConfigError(f"n_steps={n_steps!r} must be an integer >= 1")
    try:
        sigmas = _KINDS[kind](param, n_steps, **kw)
    except TypeError as e:
        raise ConfigError(f"schedule {kind!r}: {e}") from None
    if len(sigmas) != n_steps:
        raise ConfigError(f"schedule {kind!r}: got {len(sigmas)} sigmas for n_steps={n_steps}")
    if len(sigmas) > 1 and not bool((sigmas[1:] < sigmas[:-1]).all()):
        raise ConfigError(f"schedule {kind!r} with {kw} is not strictly decreasing: {sigmas.tolist()}")
    return torch.cat([sigmas, sigmas.new_zeros(1)]).float()


def strength_sigmas(sigmas: Tensor, strength: float) -> Tensor:
    """The tail of ``sigmas`` that an SDEdit start runs (Meng et al. 2022, "SDEdit").

    ``strength`` in (0, 1] is the fraction of the ``n = len(sigmas) - 1`` steps to run, as
    diffusers' img2img counts it: ``int(n * strength)`` steps from ``sigmas[n - int(n * strength)]``,
    so 1 keeps every sigma (a pure-noise start) and smaller values start closer to the init.
    """
    n = len(sigmas) - 1
    if not 0.0 < strength <= 1.0:
        raise ConfigError(f"strength={strength!r} must be in (0, 1]")
    run = int(n * strength + 1e-9)  # a product such as 49 * (1 / 49) = 0.99999... names step 1
    if run < 1:
        raise ConfigError(f"strength={strength} runs {run} of {n} steps: raise the strength or the steps")
    return sigmas[n - run:]
