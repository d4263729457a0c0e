"""Diffusion engine: noise processes, parameterizations, schedules, training densities and the loss.

See ``docs/contracts.md`` ("Noise process and the denoiser") for the state conventions.
"""

from kinema.diffusion.denoiser import Denoiser
from kinema.diffusion.densities import (
    DENSITIES, LogitNormal, LogNormal, LogUniform, Truncated, UniformFlow, UniformTimestep, get_density,
)
from kinema.diffusion.loss import (WEIGHTINGS, DiffusionLoss, masked_mean, raw_loss_weight, top_weight_ratio,
                                   x0_loss_weight)
from kinema.diffusion.loss_bins import LossBins
from kinema.diffusion.parameterization import (
    PARAM_PRESETS, PARAMETERIZATIONS, EDMParam, EpsParam, FlowParam, Parameterization, ParameterizationConfig,
    VParam, X0Param, build_parameterization, get_parameterization,
)
from kinema.diffusion.process import (FLOW, PROCESSES, VE, Process, alpha, check_process, get_process, process_of,
                                      randn, renoise)
from kinema.diffusion.schedules import (
    SCHEDULE_KINDS, SPACINGS, default_schedule_kind, flow_shift_for_resolution, flow_sigmas, flow_time_shift,
    get_sigmas, karras_sigmas, strength_sigmas, vp_timesteps,
)
from kinema.diffusion.vp import BETA_SCHEDULES, VPSchedule, make_betas

__all__ = [
    "BETA_SCHEDULES", "DENSITIES", "Denoiser", "DiffusionLoss", "EDMParam", "EpsParam", "FLOW", "FlowParam",
    "LogNormal", "LogUniform", "LogitNormal", "LossBins", "PARAMETERIZATIONS", "PARAM_PRESETS", "PROCESSES",
    "Parameterization", "ParameterizationConfig", "Process", "SCHEDULE_KINDS", "SPACINGS", "Truncated", "UniformFlow",
    "UniformTimestep", "VE", "VPSchedule", "VParam", "WEIGHTINGS", "X0Param", "alpha", "build_parameterization",
    "check_process", "default_schedule_kind", "flow_shift_for_resolution", "flow_sigmas", "flow_time_shift",
    "get_density", "get_parameterization", "get_process", "get_sigmas", "karras_sigmas", "make_betas", "masked_mean",
    "process_of", "randn", "raw_loss_weight", "renoise", "strength_sigmas", "top_weight_ratio", "vp_timesteps",
    "x0_loss_weight"
]
