"""GuidanceConfig: what classifier-free guidance does at sampling time, and its named presets.

Classifier-free guidance (Ho & Salimans 2022) extrapolates from an unconditional towards a
conditional prediction. kinema guides the image and the text condition separately (dual guidance
of InstructPix2Pix, Brooks et al. 2023; DynamiCrafter), optionally with a per-frame image scale
(SVD's linear ramp over frames), a per-step schedule, a limited noise interval
(Kynkäänniemi et al. 2024) and the std rescale of Lin et al. 2023.

A scale of 1 means "no guidance" for that condition; the default config is guidance off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal

from kinema.errors import ConfigError

SCHEDULES: tuple[str, ...] = ("constant", "linear", "cosine")


@dataclass
class GuidanceConfig:
    text_scale: float = 1.0                        # s_txt: weight of D(img,txt) - D(img); 1 = off
    image_scale: float = 1.0                       # s_img: weight of D(img) - D(none); 1 = off
    plan_scale: float = 1.0                        # s_plan: weight of D(full) - D(zero motion plan); 1 = off
    frame_ramp: tuple[float, float] | None = None  # (min, max): image scale linear over frames (SVD)
    schedule: Literal["constant", "linear", "cosine"] = "constant"  # per-step factor on (s - 1)
    schedule_start: float = 1.0                    # factor at the first step (linear/cosine only)
    schedule_end: float = 0.0                      # factor at the last step (linear/cosine only)
    rescale: float = 0.0                           # phi of Lin et al. 2023 std rescale; 0 = off
    interval: tuple[float, float] | None = None    # (sigma_lo, sigma_hi]: guide only there

    def __post_init__(self) -> None:
        _check_scale("text_scale", self.text_scale)
        _check_scale("image_scale", self.image_scale)
        _check_scale("plan_scale", self.plan_scale)
        _check_scale("schedule_start", self.schedule_start)
        _check_scale("schedule_end", self.schedule_end)
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"guidance schedule={self.schedule!r} is not one of {list(SCHEDULES)}")
        if not (math.isfinite(self.rescale) and 0.0 <= self.rescale <= 1.0):
            raise ConfigError(f"guidance rescale={self.rescale!r} is outside the accepted range [0, 1]")
        self._check_ramp()
        self._check_interval()

    def _check_ramp(self) -> None:
        if self.frame_ramp is None:
            return
        if len(self.frame_ramp) != 2:
            raise ConfigError(f"guidance frame_ramp={self.frame_ramp!r} must be two numbers (min, max)")
        for v in self.frame_ramp:
            _check_scale("frame_ramp", v)
        if self.image_scale != 1.0:
            raise ConfigError(
                f"guidance image_scale={self.image_scale!r} and frame_ramp={self.frame_ramp!r} both set "
                "the image scale; set image_scale=1 (off) when using a frame ramp"
            )

    def _check_interval(self) -> None:
        if self.interval is None:
            return
        if len(self.interval) != 2:
            raise ConfigError(f"guidance interval={self.interval!r} must be two sigmas (lo, hi)")
        lo, hi = self.interval
        if not (lo >= 0.0 and hi > lo and not math.isnan(hi)):
            raise ConfigError(f"guidance interval={self.interval!r} must satisfy 0 <= sigma_lo < sigma_hi")

    @property
    def is_off(self) -> bool:
        """True when no condition is ever guided: every scale (and the whole ramp) is 1."""
        ramp_off = self.frame_ramp is None or all(v == 1.0 for v in self.frame_ramp)
        return self.text_scale == 1.0 and self.image_scale == 1.0 and self.plan_scale == 1.0 and ramp_off


def _check_scale(key: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0.0):
        raise ConfigError(f"guidance {key}={value!r} must be a finite number >= 0 (1 = no guidance)")


# Named presets, as factories so every caller gets its own mutable copy.
GUIDANCE_PRESETS: dict[str, Callable[[], GuidanceConfig]] = {
    "off": lambda: GuidanceConfig(),
    "text": lambda: GuidanceConfig(text_scale=7.5),                     # plain text CFG
    "dual": lambda: GuidanceConfig(text_scale=7.5, image_scale=1.5),    # InstructPix2Pix defaults
    "svd": lambda: GuidanceConfig(frame_ramp=(1.0, 2.5)),               # SVD (14 frames)
    "svd_xt": lambda: GuidanceConfig(frame_ramp=(1.0, 3.0)),            # SVD-XT (25 frames)
}


def guidance_preset(name: str) -> GuidanceConfig:
    """A fresh GuidanceConfig for preset ``name`` (see ``GUIDANCE_PRESETS``)."""
    if name not in GUIDANCE_PRESETS:
        raise ConfigError(f"guidance preset {name!r} is not one of {sorted(GUIDANCE_PRESETS)}")
    return GUIDANCE_PRESETS[name]()
