"""A VBench-I2V dimension's score, its per-video values and the protocol that produced it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from kinema.errors import ConfigError, InputError
from kinema.eval.frames import as_uint8_video
from kinema.eval.protocol import MetricResult, make_protocol

METRIC_PREFIX = "vbench-i2v/"


@dataclass(frozen=True)
class DimensionScore:
    dimension: str  # VBench result-file key, e.g. "subject_consistency"
    value: float  # the dimension's raw score, as VBench reports it
    per_video: tuple  # one value per video (bool for dynamic degree, as VBench stores it)
    protocol: dict  # MetricResult protocol (backbone ids, frame sampling, resolution, preprocessing)
    details: dict = field(default_factory=dict)  # extras, e.g. camera motion's per-type means

    def result(self) -> MetricResult:
        return MetricResult(METRIC_PREFIX + self.dimension, self.value, self.protocol)


def as_videos(videos, minimum: int, dimension: str) -> list[np.ndarray]:
    """Videos -> list of uint8 (T, H, W, 3), each with at least ``minimum`` frames."""
    if hasattr(videos, "shape") and len(videos.shape) == 4:
        raise InputError(f"{dimension} takes a sequence of videos; wrap a single video in a list")
    out = [as_uint8_video(v) for v in videos]
    if not out:
        raise InputError(f"{dimension} needs at least one video")
    for i, v in enumerate(out):
        if v.shape[0] < minimum:
            raise InputError(f"{dimension} needs videos of at least {minimum} frames; video {i} has T={v.shape[0]}")
    return out


def require_backbone(backbone: Callable | None, role: str, dimension: str, what: str) -> Callable:
    """The callable, or a one-line ConfigError naming the missing backbone."""
    if backbone is None:
        raise ConfigError(f"{dimension} needs a `{role}` callable ({what}); kinema has no such backbone "
                          f"loaded - pass {role}=... (see kinema.eval.vbench.default_backbones)")
    return backbone


def backbone_id(*backbones) -> str:
    """Ids of the backbones used (their ``backbone_id`` attribute, else "custom")."""
    return "+".join(getattr(b, "backbone_id", "custom") for b in backbones if b is not None)


def dimension_protocol(dimension: str, videos: Sequence[np.ndarray], backbones: Sequence, frame_sampling: str,
                       preprocessing: str, **extra) -> dict:
    shapes = {tuple(v.shape[:3]) for v in videos}
    frames = sorted({s[0] for s in shapes})
    sizes = sorted({s[1:] for s in shapes})
    return make_protocol(
        METRIC_PREFIX + dimension, n_generated=len(videos), frames=frames[0] if len(frames) == 1 else frames,
        resolution=sizes[0] if len(sizes) == 1 else [list(s) for s in sizes], backbone=backbone_id(*backbones),
        preprocessing=preprocessing, frame_sampling=frame_sampling, **extra)


def describe(*backbones, fallback: str) -> str:
    """The backbones' ``preprocessing`` descriptions, or ``fallback``."""
    words = [getattr(b, "preprocessing", None) for b in backbones if b is not None]
    return "; ".join(w for w in words if w) or fallback
