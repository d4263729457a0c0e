"""Training noise-level densities p(sigma): which noise levels a training step sees.

Each density has ``sample(batch, generator=None, device=None) -> sigma (B,)`` float32.

* :class:`UniformTimestep`: DDPM's ``t ~ U{0, ..., N-1}`` mapped through the VP sigma table.
* :class:`UniformFlow`: ``t ~ U(t_min, 1)`` for rectified flow (Liu et al. 2022).
* :class:`LogUniform`: ``ln sigma ~ U(ln s_min, ln s_max)`` (the "uniform" choice for EDM).
* :class:`LogNormal`: ``ln sigma ~ N(P_mean, P_std^2)``, EDM's default ``-1.2, 1.2``
  (Karras et al. 2022, Table 1).
* :class:`LogitNormal`: ``t = sigmoid(N(m, s^2))`` (SD3, Esser et al. 2024, Eq. 19), optionally
  time-shifted.
* :class:`Truncated`: any of them restricted to ``sigma <= max_sigma`` (a low-noise expert, as
  SDXL's refiner is trained on the lowest noise scales only and eDiff-I splits denoisers by level).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from kinema.diffusion.parameterization import FlowParam, Parameterization, _VPParam
from kinema.diffusion.process import randn
from kinema.diffusion.schedules import flow_time_shift
from kinema.diffusion.vp import VPSchedule
from kinema.errors import ConfigError


def _rand(batch: int, generator: torch.Generator | None, device) -> Tensor:
    gen_device = generator.device if generator is not None else torch.device("cpu")
    u = torch.rand(batch, generator=generator, device=gen_device, dtype=torch.float32)
    return u if device is None else u.to(device)


class UniformTimestep:
    """DDPM: ``t ~ U{0..N-1}``, ``sigma = sigma_table[t]`` (Ho et al. 2020, Alg. 1)."""

    def __init__(self, schedule: VPSchedule) -> None:
        self.schedule = schedule

    def sample(self, batch: int, generator: torch.Generator | None = None, device=None) -> Tensor:
        n = self.schedule.num_train_timesteps
        gen_device = generator.device if generator is not None else torch.device("cpu")
        t = torch.randint(0, n, (batch,), generator=generator, device=gen_device)
        sigma = self.schedule.sigmas.to(gen_device)[t].float()
        return sigma if device is None else sigma.to(device)


@dataclass
class UniformFlow:
    """Rectified flow: ``t ~ U(t_min, t_max)``."""

    t_min: float = 1e-3
    t_max: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.t_min < self.t_max <= 1.0:
            raise ConfigError(f"uniform flow density needs 0 <= t_min < t_max <= 1, got {self.t_min}, {self.t_max}")

    def sample(self, batch: int, generator: torch.Generator | None = None, device=None) -> Tensor:
        return self.t_min + (self.t_max - self.t_min) * _rand(batch, generator, device)


@dataclass
class LogUniform:
    """``ln sigma ~ U(ln sigma_min, ln sigma_max)``."""

    sigma_min: float = 0.002
    sigma_max: float = 80.0

    def __post_init__(self) -> None:
        if not 0.0 < self.sigma_min < self.sigma_max:
            raise ConfigError(f"log-uniform density needs 0 < sigma_min < sigma_max, got "
                              f"{self.sigma_min}, {self.sigma_max}")

    def sample(self, batch: int, generator: torch.Generator | None = None, device=None) -> Tensor:
        lo, hi = math.log(self.sigma_min), math.log(self.sigma_max)
        return (lo + (hi - lo) * _rand(batch, generator, device)).exp()


@dataclass
class LogNormal:
    """EDM: ``ln sigma ~ N(p_mean, p_std^2)``, optionally clamped to ``[sigma_min, sigma_max]``."""

    p_mean: float = -1.2
    p_std: float = 1.2
    sigma_min: float | None = None
    sigma_max: float | None = None

    def __post_init__(self) -> None:
        if self.p_std <= 0:
            raise ConfigError(f"log-normal density p_std={self.p_std!r} must be > 0")

    def sample(self, batch: int, generator: torch.Generator | None = None, device=None) -> Tensor:
        sigma = (self.p_mean + self.p_std * randn((batch,), generator, device)).exp()
        return sigma.clamp(self.sigma_min, self.sigma_max) if self._clamps else sigma

    @property
    def _clamps(self) -> bool:
        return self.sigma_min is not None or self.sigma_max is not None


@dataclass
class LogitNormal:
    """SD3: ``t = sigmoid(N(m, s^2))``, then ``flow_time_shift(t, shift)``; clamped to ``[t_min, 1]``."""

    m: float = 0.0
    s: float = 1.0
    shift: float = 1.0
    t_min: float = 1e-3

    def __post_init__(self) -> None:
        if self.s <= 0 or self.shift <= 0:
            raise ConfigError(f"logit-normal density needs s > 0 and shift > 0, got s={self.s}, shift={self.shift}")

    def sample(self, batch: int, generator: torch.Generator | None = None, device=None) -> Tensor:
        t = torch.sigmoid(self.m + self.s * randn((batch,), generator, device))
        return flow_time_shift(t, self.shift).clamp(self.t_min, 1.0)


DENSITIES: tuple[str, ...] = ("uniform", "lognormal", "logitnormal", "loguniform")
_ALIASES = {"log_normal": "lognormal", "logit_normal": "logitnormal", "log_uniform": "loguniform"}


@dataclass
class Truncated:
    """``base`` conditioned on ``sigma <= max_sigma``, by rejection: draws above are redrawn.

    For DDPM's uniform timesteps this is ``t ~ U{0..t_max}``; an SDEdit start (``strength`` < 1)
    only ever queries the model at such levels, so a stage that trains for it spends every step there.
    """

    base: Any
    max_sigma: float
    max_rounds: int = 1000

    def __post_init__(self) -> None:
        if not self.max_sigma > 0:
            raise ConfigError(f"max_sigma={self.max_sigma!r} must be > 0")

    def sample(self, batch: int, generator: torch.Generator | None = None, device=None) -> Tensor:
        sigma = self.base.sample(batch, generator)
        for _ in range(self.max_rounds):
            above = sigma > self.max_sigma
            if not above.any():
                return sigma if device is None else sigma.to(device)
            sigma[above] = self.base.sample(int(above.sum()), generator).to(sigma)
        raise ConfigError(f"max_sigma={self.max_sigma}: the density almost never draws that low")


def get_density(name: str, param: Parameterization, **kw: Any):
    """The named density for ``param`` (``uniform`` means: VP timesteps, flow ``t``, or EDM log-uniform).

    VP parameterizations clamp log-normal draws to their sigma table range; logit-normal is a
    flow-only density. Spellings ``log_normal`` / ``logit_normal`` are accepted.
    """
    name = _ALIASES.get(name, name)
    if name not in DENSITIES:
        raise ConfigError(f"density={name!r} is not one of {list(DENSITIES)}")
    try:
        return _build(name, param, kw)
    except TypeError as e:
        raise ConfigError(f"density {name!r}: {e}") from None


def _build(name: str, param: Parameterization, kw: dict[str, Any]):
    if name == "uniform":
        if isinstance(param, _VPParam):
            return UniformTimestep(param.schedule, **kw)
        if isinstance(param, FlowParam):
            return UniformFlow(**{"t_min": param.sigma_min, **kw})
        return LogUniform(**{"sigma_min": param.sigma_min, "sigma_max": param.sigma_max, **kw})
    if name == "loguniform":
        return LogUniform(**{"sigma_min": param.sigma_min, "sigma_max": param.sigma_max, **kw})
    if name == "lognormal":
        if param.process.bounded:
            raise ConfigError("density 'lognormal' draws sigma in (0, inf); a flow model needs "
                              "'logitnormal' or 'uniform'")
        if isinstance(param, _VPParam):
            kw = {"sigma_min": param.sigma_min, "sigma_max": param.sigma_max, **kw}
        return LogNormal(**kw)
    if not param.process.bounded:
        raise ConfigError(f"density 'logitnormal' draws t in (0, 1) for flow models; {param.name!r} "
                          "needs 'uniform' or 'lognormal'")
    return LogitNormal(**{"t_min": param.sigma_min, **kw})
