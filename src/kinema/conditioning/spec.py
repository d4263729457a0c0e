"""What a user asks for: known frames (index + strength), prompt and scalar controls.

``Conditions`` is the user-facing description of one generation; the
:class:`~kinema.conditioning.conditioner.Conditioner` turns it into a ConditionBatch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor

from kinema.config import check_range
from kinema.errors import ConfigError


@dataclass
class KnownFrame:
    """A frame the video must contain: ``image`` (3, H, W) in [-1, 1] placed at ``index``.

    ``strength`` in [0, 1] scales the frame's mask: 1 = hard condition, smaller = a hint.
    Negative indices count from the end (-1 = last frame).
    """

    index: int
    image: Tensor
    strength: float = 1.0

    def __post_init__(self) -> None:
        check_range("strength", self.strength, 0.0, 1.0)
        if self.image.dim() != 3 or self.image.shape[0] != 3:
            raise ConfigError(f"known frame image must be (3, H, W), got {tuple(self.image.shape)}")


@dataclass
class Conditions:
    """Every condition of one generation. ``frames`` empty = text-to-video."""

    frames: list[KnownFrame] = field(default_factory=list)
    prompt: str = ""
    fps: float = 8.0
    motion: float | None = None  # motion amount; None = the model's unconditional default
    noise_aug: float = 0.0  # noise level added to the known frames (SVD's augmentation)
    plan: tuple[float, ...] | None = None  # a motion plan (kinema.conditioning.plan.PLAN_FIELDS); None = planned
    camera: str | None = None  # a camera move ("pan_left", "zoom_in+roll_cw:0.02") over the plan's own
    object_mask: Tensor | None = None  # (H, W) bool: the main object in frames[0]'s image (a motion brush)

    def __post_init__(self) -> None:
        check_range("fps", self.fps, 1.0, 120.0)
        if self.plan is not None:
            from kinema.conditioning.plan import PLAN_FIELDS

            if len(self.plan) != len(PLAN_FIELDS) or not all(abs(float(v)) < 1.0 for v in self.plan):
                raise ConfigError(f"plan must be {len(PLAN_FIELDS)} rates per frame ({', '.join(PLAN_FIELDS)}), "
                                  f"each in (-1, 1); got {self.plan!r}")
            self.plan = tuple(float(v) for v in self.plan)
        if self.camera is not None:
            from kinema.conditioning.plan import camera_rates

            try:
                camera_rates(self.camera)
            except ValueError as e:
                raise ConfigError(f"camera: {e}") from None
        if self.object_mask is not None and (self.object_mask.dim() != 2 or not self.object_mask.any()):
            raise ConfigError(f"object_mask must be a non-empty (H, W) mask, got shape {tuple(self.object_mask.shape)}"
                              + ("" if self.object_mask.dim() != 2 else " with no object pixel"))
        check_range("noise_aug", self.noise_aug, 0.0, 10.0)
        if self.motion is not None:
            check_range("motion", self.motion, 0.0, 10.0)

    def resolved_indices(self, num_frames: int) -> list[int]:
        """Known-frame indices resolved against ``num_frames`` (negative -> from the end)."""
        out = []
        for f in self.frames:
            i = f.index + num_frames if f.index < 0 else f.index
            if not 0 <= i < num_frames:
                raise ConfigError(f"known frame index {f.index} is outside a {num_frames}-frame video")
            out.append(i)
        return out
