"""Parameterizations: what the backbone predicts and how its input and output are scaled.

Every parameterization is an EDM preconditioning (Karras et al. 2022, Table 1):
``x0_hat = c_skip(sigma) x + c_out(sigma) F(c_in(sigma) x, c_noise(sigma))`` with the network ``F``.
The training target of ``F`` is ``(x0 - c_skip x) / c_out``, so the plain MSE on the raw output
(Wang et al. 2026 Eq. 2, ``|eps - eps_theta|^2``, for eps) equals the x0 error weighted by ``1 / c_out^2``.

=========  =======  ==========================  ===========================  ======================
name       process  c_skip, c_out               c_in, c_noise                F predicts
=========  =======  ==========================  ===========================  ======================
eps        ve       1, -sigma                   1/sqrt(1+sigma^2), t(sigma)  eps (DDPM)
v          ve       1/(1+s^2), -s/sqrt(1+s^2)   1/sqrt(1+sigma^2), t(sigma)  v = a eps - s_vp x0
x0         ve       0, 1                        1/sqrt(1+sigma^2), t(sigma)  x0
edm        ve       sd^2/(s^2+sd^2), s sd/..    1/sqrt(s^2+sd^2), ln(s)/4    EDM's F
flow       flow     1, -t                       1, 1000 t                    v = eps - x0
=========  =======  ==========================  ===========================  ======================

``t(sigma)`` is the fractional DDPM timestep (see :mod:`kinema.diffusion.vp`); ``v`` is Salimans &
Ho 2022 ("Progressive Distillation"), the flow velocity is Liu et al. 2022 / Esser et al. 2024.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from kinema.config import check_range
from kinema.diffusion.process import FLOW, VE, Process
from kinema.diffusion.vp import VPSchedule
from kinema.errors import ConfigError

Coefficients = tuple[Tensor, Tensor, Tensor, Tensor]  # c_skip, c_out, c_in, c_noise, each (B,)


def _bcast(c: Tensor, x: Tensor) -> Tensor:
    """(B,) -> (B, 1, ..., 1) to broadcast over x (B, C, T, H, W)."""
    return c.reshape(c.shape + (1,) * (x.dim() - c.dim()))


class Parameterization:
    """Base class: the state convention, preconditioning, and the noising of training and sampling."""

    name: str = ""
    process: Process = VE
    sigma_min: float = 0.0
    sigma_max: float = 1.0

    def precondition(self, sigma: Tensor) -> Coefficients:
        """``(c_skip, c_out, c_in, c_noise)``, each float32 ``(B,)`` for ``sigma`` ``(B,)``."""
        raise NotImplementedError

    def training_target(self, x0: Tensor, eps: Tensor, sigma: Tensor) -> Tensor:
        """What ``F`` must output so that ``x0_hat == x0`` exactly: ``(x0 - c_skip x) / c_out``."""
        c_skip, c_out, _, _ = self.precondition(sigma)
        x = self.add_noise(x0, eps, sigma)
        return (x0 - _bcast(c_skip, x) * x) / _bcast(c_out, x)

    def add_noise(self, x0: Tensor, eps: Tensor, sigma: Tensor) -> Tensor:
        """``x = alpha(sigma) x0 + sigma eps`` (the training forward process), sigma ``(B,)``."""
        s = _bcast(sigma.float(), x0)
        return (self.process.alpha(s) * x0 + s * eps).to(x0.dtype)

    def prior(self, noise: Tensor, sigma_max: float | Tensor) -> Tensor:
        """Sampling start ``x_T = sigma_max * noise`` (pure noise; exact for flow at sigma = 1,
        k-diffusion's convention for VE, where the data variance is small against ``sigma_max^2``)."""
        return noise * torch.as_tensor(sigma_max, dtype=noise.dtype, device=noise.device)

    def snr(self, sigma: Tensor) -> Tensor:
        """Signal-to-noise ratio ``alpha^2 / sigma^2`` of the noisy state (Kingma et al. 2021)."""
        s = sigma.float()
        return (self.process.alpha(s) / s) ** 2

    def config(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this object with :func:`get_parameterization`."""
        return {}

    def __repr__(self) -> str:
        kw = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({kw})"


class _VPParam(Parameterization):
    """A parameterization of a DDPM-trained (discrete VP) model, evaluated in the VE state."""

    def __init__(self, schedule: str = "linear", beta_start: float = 1e-4, beta_end: float = 0.02,
                 num_train_timesteps: int = 1000) -> None:
        self.schedule = VPSchedule(schedule, num_train_timesteps, beta_start, beta_end)
        self.sigma_min, self.sigma_max = self.schedule.sigma_min, self.schedule.sigma_max

    def _common(self, sigma: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        s = sigma.float()
        c_in = 1.0 / (s**2 + 1.0).sqrt()  # VE state -> VP state the model was trained on
        return s, c_in, self.schedule.sigma_to_t(s)

    def config(self) -> dict[str, Any]:
        sch = self.schedule
        return {"schedule": sch.schedule, "beta_start": sch.beta_start, "beta_end": sch.beta_end,
                "num_train_timesteps": sch.num_train_timesteps}


class EpsParam(_VPParam):
    """eps-prediction (DDPM, Ho et al. 2020; Wang et al. 2026, I2V survey Eq. 2): ``x0_hat = x - sigma F``."""

    name = "eps"

    def precondition(self, sigma: Tensor) -> Coefficients:
        s, c_in, c_noise = self._common(sigma)
        return torch.ones_like(s), -s, c_in, c_noise

    def training_target(self, x0: Tensor, eps: Tensor, sigma: Tensor) -> Tensor:
        return eps


class VParam(_VPParam):
    """v-prediction (Salimans & Ho 2022): ``v = alpha_vp eps - sigma_vp x0`` in the VP state."""

    name = "v"

    def precondition(self, sigma: Tensor) -> Coefficients:
        s, c_in, c_noise = self._common(sigma)
        return 1.0 / (s**2 + 1.0), -s * c_in, c_in, c_noise

    def training_target(self, x0: Tensor, eps: Tensor, sigma: Tensor) -> Tensor:
        s = _bcast(sigma.float(), x0)
        a_vp = 1.0 / (s**2 + 1.0).sqrt()  # sqrt(alphā)
        return (a_vp * eps - s * a_vp * x0).to(x0.dtype)  # sigma_vp = sigma * alpha_vp


class X0Param(_VPParam):
    """x0 ("sample") prediction: the network outputs the clean sample directly."""

    name = "x0"

    def precondition(self, sigma: Tensor) -> Coefficients:
        s, c_in, c_noise = self._common(sigma)
        return torch.zeros_like(s), torch.ones_like(s), c_in, c_noise

    def training_target(self, x0: Tensor, eps: Tensor, sigma: Tensor) -> Tensor:
        return x0


class EDMParam(Parameterization):
    """EDM preconditioning (Karras et al. 2022, Table 1 / Eq. 7): unit-variance input and target."""

    name = "edm"

    def __init__(self, sigma_data: float = 0.5, sigma_min: float = 0.002, sigma_max: float = 80.0) -> None:
        check_range("edm.sigma_data", sigma_data, 1e-6, None)
        if not 0.0 < sigma_min < sigma_max:
            raise ConfigError(f"edm needs 0 < sigma_min < sigma_max, got sigma_min={sigma_min!r}, "
                              f"sigma_max={sigma_max!r}")
        self.sigma_data, self.sigma_min, self.sigma_max = sigma_data, sigma_min, sigma_max

    def precondition(self, sigma: Tensor) -> Coefficients:
        s, sd = sigma.float(), self.sigma_data
        norm = (s**2 + sd**2).sqrt()
        return sd**2 / norm**2, s * sd / norm, 1.0 / norm, s.log() / 4.0

    def config(self) -> dict[str, Any]:
        return {"sigma_data": self.sigma_data, "sigma_min": self.sigma_min, "sigma_max": self.sigma_max}


class FlowParam(Parameterization):
    """Rectified flow (Liu et al. 2022; SD3, Esser et al. 2024): ``x = (1-t) x0 + t eps``, F = ``eps - x0``.

    ``c_noise = t * timestep_scale`` (1000 as in diffusers' flow-matching pipelines).
    """

    name = "flow"
    process = FLOW
    sigma_max = 1.0

    def __init__(self, timestep_scale: float = 1000.0, sigma_min: float = 1e-3) -> None:
        check_range("flow.sigma_min", sigma_min, 0.0, 0.5)
        self.timestep_scale, self.sigma_min = timestep_scale, sigma_min

    def precondition(self, sigma: Tensor) -> Coefficients:
        t = sigma.float()
        return torch.ones_like(t), -t, torch.ones_like(t), t * self.timestep_scale

    def training_target(self, x0: Tensor, eps: Tensor, sigma: Tensor) -> Tensor:
        return eps - x0

    def config(self) -> dict[str, Any]:
        return {"timestep_scale": self.timestep_scale, "sigma_min": self.sigma_min}


PARAMETERIZATIONS: dict[str, type[Parameterization]] = {
    "eps": EpsParam, "v": VParam, "x0": X0Param, "edm": EDMParam, "flow": FlowParam,
}


def get_parameterization(name: str, **kw: Any) -> Parameterization:
    """Build a parameterization by name (``eps``, ``v``, ``x0``, ``flow``, ``edm``).

    VP-based ones take ``schedule`` (linear | scaled_linear | cosine | squaredcos_cap_v2),
    ``beta_start``, ``beta_end``, ``num_train_timesteps``; ``edm`` takes ``sigma_data``,
    ``sigma_min``, ``sigma_max``; ``flow`` takes ``timestep_scale``, ``sigma_min``.
    """
    if name not in PARAMETERIZATIONS:
        raise ConfigError(f"parameterization={name!r} is not one of {sorted(PARAMETERIZATIONS)}")
    cls = PARAMETERIZATIONS[name]
    try:
        return cls(**kw)
    except TypeError as e:
        raise ConfigError(f"parameterization {name!r}: {e}") from None


@dataclass
class ParameterizationConfig:
    """Typed config for :func:`build_parameterization`; ``options`` go to the class constructor."""

    name: str = "v"  # eps | v | x0 | flow | edm
    options: dict[str, Any] = dataclasses.field(default_factory=dict)


PARAM_PRESETS: dict[str, ParameterizationConfig] = {
    "ddpm_eps": ParameterizationConfig("eps", {"schedule": "linear"}),
    "sd_eps": ParameterizationConfig("eps", {"schedule": "scaled_linear", "beta_start": 0.00085,
                                             "beta_end": 0.012}),
    "sd_v": ParameterizationConfig("v", {"schedule": "scaled_linear", "beta_start": 0.00085,
                                         "beta_end": 0.012}),
    "cosine_v": ParameterizationConfig("v", {"schedule": "cosine"}),
    "edm": ParameterizationConfig("edm", {}),
    "flow": ParameterizationConfig("flow", {}),
}


def build_parameterization(config: ParameterizationConfig | str) -> Parameterization:
    """From a :class:`ParameterizationConfig` or a preset name in ``PARAM_PRESETS``."""
    if isinstance(config, str):
        if config not in PARAM_PRESETS:
            raise ConfigError(f"parameterization preset {config!r} is not one of {sorted(PARAM_PRESETS)}")
        config = PARAM_PRESETS[config]
    return get_parameterization(config.name, **config.options)
