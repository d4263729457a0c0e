"""Classifier-free guidance: dual image/text scales, frame ramps, step schedules, rescale, interval."""

from kinema.sampling.guidance.cfg import GuidedDenoiser, cfg_variants, guided_denoiser, rescale_guidance
from kinema.sampling.guidance.config import GUIDANCE_PRESETS, SCHEDULES, GuidanceConfig, guidance_preset
from kinema.sampling.guidance.scales import (
    frame_ramp_scales,
    guidance_weights,
    in_interval,
    progress_from_sigmas,
    schedule_factor,
)

__all__ = [
    "GUIDANCE_PRESETS",
    "SCHEDULES",
    "GuidanceConfig",
    "GuidedDenoiser",
    "cfg_variants",
    "frame_ramp_scales",
    "guidance_preset",
    "guidance_weights",
    "guided_denoiser",
    "in_interval",
    "progress_from_sigmas",
    "rescale_guidance",
    "schedule_factor",
]
