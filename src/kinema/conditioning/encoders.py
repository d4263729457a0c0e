"""Condition encoders: one object per condition (sgm's ``GeneralConditioner`` embedders, DiT's
``LabelEmbedder`` owning its dropout). Each declares the concat parts it writes (name, channels),
the name guidance and training dropout drop it under, its dropout probability (a
:class:`~kinema.conditioning.conditioner.ConditionerConfig` field) and its null form. The
conditioner lists them; a new control adds an encoder here, not a branch elsewhere.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kinema.conditioning.batch import VECTOR_FIELDS
from kinema.conditioning.layered import render_layers
from kinema.conditioning.plan import camera_rates, nearest_index, warp_references
from kinema.conditioning.planner import MotionPlanner
from kinema.errors import ConfigError


class Encoder:
    guide = ""  # the name guidance and training dropout drop it under (ConditionBatch.drop)
    drop_key: str | None = None  # ConditionerConfig field: P(null form) per training sample
    null = "zeros"  # its null form
    video_part: str | None = None  # its concat part that is a reference video (an SDEdit start)

    def parts(self, latent_channels: int) -> tuple[tuple[str, int], ...]:
        """(name, channels) of the parts it writes on the concat route, in order."""
        return ()

    def modules(self, latent_channels: int) -> dict[str, nn.Module]:
        """Its trained submodules by checkpoint prefix."""
        return {}


class KnownFrames(Encoder):
    """Eq. 12 (Wang et al. 2026): known latents times ``mask * strength``, then the mask."""
    guide, drop_key = "image", "drop_image"

    def parts(self, latent_channels):
        return (("frames", latent_channels + 1),)

    @staticmethod
    def encode(known: Tensor, mask: Tensor, **_) -> Tensor:
        """known (B, C, T, h, w) latents, mask (B, T) in [0, 1] -> (B, C+1, T, h, w)."""
        m = mask.to(known.dtype)[:, None, :, None, None].expand(-1, 1, -1, *known.shape[-2:])
        return torch.cat([known * m, m], dim=1)


class NearestReference(Encoder):
    """Each frame's nearest known latent (SVD and DynamiCrafter show the image latent to all frames)."""
    guide, video_part = "image", "nearest"  # dropped with the known frames it copies

    def parts(self, latent_channels):
        return (("nearest", latent_channels),)

    @staticmethod
    def encode(known: Tensor, mask: Tensor, **_) -> Tensor:
        return nearest_known(known, mask)


class PlannedReference(Encoder):
    """The nearest known latent warped by a motion plan's camera move, then shifted by its object
    velocity (or, with ``object_mask``, the plan rendered in pixels and encoded); the plan is the
    data's in training and its :class:`MotionPlanner`'s reading of the prompt when sampling."""
    guide, drop_key, null = "plan", "drop_plan", "zero plan"

    def __init__(self, text_dim, object_mask: bool, drop_p: float):
        self._text_dim, self.object_mask, self.drop_p = text_dim, object_mask, drop_p  # text_dim: a callable
        self.video_part = "layered" if object_mask else "warped"
        self.planner: MotionPlanner | None = None  # built with the text encoder's width, on first use

    def parts(self, latent_channels):
        return (("warped", latent_channels), ("layered" if self.object_mask else "shifted", latent_channels))

    def modules(self, latent_channels):
        return {"planner": self.get_planner(latent_channels)}

    def get_planner(self, latent_channels: int | None = None) -> MotionPlanner:
        if self.planner is None:
            if self.object_mask and latent_channels is None:
                raise ValueError("conditioner.object_mask: the planner's segmenter needs latent_channels")
            self.planner = MotionPlanner(self._text_dim(), latent_channels=latent_channels if self.object_mask
                                         else None)
        return self.planner

    @staticmethod
    def encode(known: Tensor, mask: Tensor, plan: Tensor | None = None, planned: Tensor | None = None) -> Tensor:
        """``plan`` (B, 6), None = no motion; ``planned`` (B, C, T, h, w) layered frames replace the object copy."""
        refs = warp_references(nearest_known(known, mask), mask, plan)
        if planned is not None:
            refs = torch.cat([refs[:, :known.shape[1]], planned.to(refs)], dim=1)
        return refs

    @staticmethod
    def layered(frames: Tensor, mask: Tensor, plan: Tensor, object_masks: Tensor, encode) -> Tensor:
        """The plan rendered in pixels (plate + object sprite) and encoded: (B, C, T, h, w).

        frames (B, 3, T, H, W) known pixel frames, object_masks (B, T, H, W) in [0, 1], ``encode``
        the autoencoder's (B, 3, T, H, W) -> (B, C, T, h, w).
        """
        with torch.no_grad():
            planned = encode(render_layers(frames, mask, plan, object_masks))
        return planned * (mask > 0).any(dim=1).to(planned).view(-1, 1, 1, 1, 1)  # no known frame: nothing to show

    def training_inputs(self, plan, object_masks, frames, encode, modes, mask, aug, drop, generator) -> dict:
        """encode()'s keywords for a training batch: the data's plan (dropped to zero with P(drop_plan))
        and, with ``object_mask``, the noise-augmented layered frames."""
        if plan is None:
            return {}
        plan = plan.float().to(mask.device) * (~drop(self.drop_p)).float().to(mask.device)[:, None]
        planned = None
        if self.object_mask and all(x is not None for x in (object_masks, frames, encode)):
            px, px_masks = _loopify(frames, modes), _loopify(object_masks.float()[:, None], modes)[:, 0]
            planned = self.layered(px, mask, plan, px_masks, encode)
            B = planned.shape[0]
            planned = planned + aug.view(B, 1, 1, 1, 1) * torch.randn(planned.shape, generator=generator).to(planned)
        return {"plan": plan, "planned": planned}

    def sampling_plan(self, conditions, tokens: Tensor, token_mask: Tensor, motion: Tensor | None) -> Tensor:
        """(1, 6): the user's plan, else the planner's reading of the prompt; a named camera move replaces its rates."""
        if conditions.plan is not None:
            plan = torch.tensor([conditions.plan], dtype=torch.float32)
        else:
            plan = self.get_planner().to(tokens.device).eval().plan(tokens, token_mask, motion).cpu()
        if conditions.camera is not None:
            plan[0, :4] = torch.tensor(camera_rates(conditions.camera))
        return plan

    def segment(self, known: Tensor, mask: Tensor, tokens: Tensor, token_mask: Tensor) -> Tensor | None:
        """(B, T, h, w) the main object in each frame's nearest known latent; None without ``object_mask``."""
        if not self.object_mask:
            return None
        segmenter = self.get_planner(known.shape[1]).segmenter.to(known.device).eval()
        B, C, T, h, w = known.shape
        src, _ = nearest_index(mask)
        frames = torch.gather(known, 2, src[:, None, :, None, None].expand(-1, C, -1, h, w))  # (B, C, T, h, w)
        flat = frames.transpose(1, 2).reshape(B * T, C, h, w)
        rep = lambda x: x.repeat_interleave(T, dim=0)  # noqa: E731
        return segmenter.mask(flat, rep(tokens), rep(token_mask)).view(B, T, h, w)

    def sampling_inputs(self, conditions, num_frames, known, mask, tokens, tmask, motion, encode, generator) -> dict:
        """encode()'s keywords for one sample: its plan and, with ``object_mask``, the layered frames."""
        self.get_planner(known.shape[1])  # built with its segmenter's width before the plan needs it
        plan = self.sampling_plan(conditions, tokens, tmask, motion)
        obj = self.segment(known, mask, tokens, tmask)
        planned = None
        if obj is not None and encode is not None and conditions.frames:
            planned = self._sampling_layers(conditions, num_frames, mask, plan, obj, encode, generator)
        return {"plan": plan, "planned": planned}

    def _sampling_layers(self, conditions, num_frames: int, mask: Tensor, plan: Tensor, obj: Tensor,
                         encode, generator) -> Tensor:
        """Encoded layered references of one sample from its known images and the segmenter's masks
        (the user's ``conditions.object_mask`` instead, where the input image is the source)."""
        H, W = conditions.frames[0].image.shape[-2:]
        frames = torch.zeros(1, 3, num_frames, H, W)
        indices = conditions.resolved_indices(num_frames)
        for i, frame in zip(indices, conditions.frames):
            frames[0, :, i] = frame.image.float().cpu()
        px = (F.interpolate(obj.float(), size=(H, W), mode="bilinear", align_corners=False) >= 0.5).float()
        if conditions.object_mask is not None:  # the user's mask replaces the segmenter's where frames[0] is the source
            if tuple(conditions.object_mask.shape) != (H, W):
                raise ConfigError(f"object_mask is {tuple(conditions.object_mask.shape)}, the frames are {(H, W)}")
            image = conditions.frames[0].image  # a loop's last frame is this same image
            same = torch.tensor([i for i, f in zip(indices, conditions.frames) if f.image is image])
            src, _ = nearest_index(mask)
            px[0, torch.isin(src[0].cpu(), same)] = conditions.object_mask.float().cpu()
        planned = self.layered(frames, mask, plan, px, encode).cpu()
        if conditions.noise_aug > 0:
            planned = planned + conditions.noise_aug * torch.randn(planned.shape, generator=generator)
        return planned


class TextTokens(Encoder):
    """Eq. 13: prompt tokens for cross-attention; null form: zero tokens (the null prompt)."""
    guide, drop_key = "text", "drop_text"

    def __init__(self, spec: str, max_length: int, text_encoder=None):
        self.spec, self.max_length, self._text = spec, max_length, text_encoder

    @property
    def text_encoder(self):
        if self._text is None:
            from kinema.text import get_text_encoder

            self._text = get_text_encoder(_with_length(self.spec, self.max_length))
        return self._text

    def encode(self, prompts: list[str]) -> tuple[Tensor, Tensor]:
        tokens, mask = self.text_encoder.encode(list(prompts))
        return tokens.float(), mask.bool()


class ScalarControls(Encoder):
    """Raw scalars on the vector route in VECTOR_FIELDS order; a missing (or dropped) motion amount is 0."""
    guide, drop_key, null = "vector", "drop_motion", "motion amount 0 (not given)"

    def __init__(self, fps_scale: float, motion_scale: float):
        self.fps_scale, self.motion_scale = fps_scale, motion_scale

    def encode(self, fps: Tensor, motion: Tensor | None, noise_aug: Tensor) -> Tensor:
        """(B,) scalars -> (B, V)."""
        motion_v = torch.zeros_like(fps) if motion is None else 1.0 + motion.float() * self.motion_scale
        parts = {"fps": fps.float() * self.fps_scale, "motion": motion_v, "noise_aug": noise_aug.float()}
        return torch.stack([parts[k] for k in VECTOR_FIELDS], dim=1)


def nearest_known(known: Tensor, mask: Tensor) -> Tensor:
    """Each frame's nearest known latent times its strength: (B, C, T, h, w), zeros without one.

    known (B, C, T, h, w), mask (B, T) in [0, 1] (> 0 = known). For image-to-video every frame gets
    the first frame's latent (SVD's replicated image latent); for a transition the first half gets
    the first frame, the second half the last (ties go to the earlier frame).
    """
    src, has = nearest_index(mask)  # (B, T), (B,)
    index = src[:, None, :, None, None].expand(-1, known.shape[1], -1, *known.shape[-2:])
    strength = torch.gather(mask.to(known.dtype), 1, src) * has[:, None].to(known.dtype)  # (B, T)
    return torch.gather(known, 2, index) * strength[:, None, :, None, None]


def _with_length(spec: str, max_length: int) -> str:
    """Append the token budget to a built-in encoder spec that does not name one."""
    name, *rest = spec.split(":")
    if name == "minilm" and not rest:
        return f"minilm:{max_length}"
    if name == "null" and len(rest) < 2:
        return f"null:{rest[0] if rest else 384}:{max_length}"
    return spec


def _loopify(latents: Tensor, modes: list[str]) -> Tensor:
    """Known latents for the drawn tasks: a ``loop`` sample shows frame 0 again as its last frame."""
    known = latents.clone()
    for b, mode in enumerate(modes):
        if mode == "loop":
            known[b, :, -1] = known[b, :, 0]
    return known
