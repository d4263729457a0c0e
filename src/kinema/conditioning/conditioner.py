"""The conditioner: user conditions -> ConditionBatch routes (Wang et al. 2026, I2V survey Eq. 12-15).

Each condition m is encoded by its own encoder E_m, projected to a route P_m and scaled by a
strength gamma_m (Eq. 14: u~_m = gamma_m P_m(E_m(s_m))); the backbone fuses the routes (Eq. 15):

* known frames: VAE latents times ``mask * strength``, concatenated with that mask (Eq. 12);
  optionally (``reference="nearest"``) also each frame's nearest known latent, so every frame sees
  the input image where it is (SVD and DynamiCrafter concatenate the image latent to all frames),
  or (``reference="planned"``) that latent warped by a motion plan's camera move and shifted by its
  object velocity (:mod:`kinema.conditioning.plan`); the plan is the data's exact one in training and
  the :class:`MotionPlanner`'s reading of the prompt when sampling. With ``object_mask`` the second
  copy is the plan rendered in pixels and encoded (:mod:`kinema.conditioning.layered`: the
  background plate moved by the camera, only the main object shifted), the object's mask being the
  data's in training and the planner's segmenter's when sampling;
* prompt: text-encoder tokens for cross-attention (Eq. 13);
* fps, motion amount, noise-augmentation level: raw scalars on the vector route.

The same code builds the training batch (task mix + condition dropout for classifier-free
guidance) and the sampling batch (from :class:`Conditions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from kinema.conditioning.batch import VECTOR_FIELDS, ConditionBatch
from kinema.conditioning.layered import render_layers
from kinema.conditioning.plan import camera_rates, nearest_index, warp_references
from kinema.conditioning.planner import MotionPlanner
from kinema.conditioning.spec import Conditions
from kinema.conditioning.tasks import TaskMix, sample_tasks
from kinema.config import check_choice, check_range
from kinema.errors import ConfigError

REFERENCES: tuple[str, ...] = ("none", "nearest", "planned")


@dataclass
class ConditionerConfig:
    text_encoder: str = "minilm"  # "minilm" | "null" | "null:<dim>" | local HF path
    text_max_length: int = 32  # tokens kept per prompt
    drop_image: float = 0.1  # P(drop known frames) in training, for image guidance
    drop_text: float = 0.1  # P(drop prompt) in training, for text guidance
    drop_motion: float = 0.1  # P(drop the motion amount) -> the unconditional motion default
    fps_scale: float = 0.1  # vector value = fps * fps_scale
    motion_scale: float = 10.0  # vector value = 1 + motion * motion_scale (0 = no motion given)
    noise_aug_prob: float = 0.5  # P(noise-augment the known frames) in training
    noise_aug_mean: float = -3.0  # log-normal level ln(sigma_aug) ~ N(mean, std) (SVD)
    noise_aug_std: float = 0.5
    reference: str = "none"  # "none" | "nearest" | "planned" (nearest known latent, warped by a motion plan)
    drop_plan: float = 0.1  # P(zero plan) in training: "planned" then also learns the unplanned default
    object_mask: bool = False  # "planned": move only the main object (segmented by the planner), not the whole frame
    task_mix: TaskMix = field(default_factory=TaskMix)

    def __post_init__(self) -> None:
        check_choice("reference", self.reference, REFERENCES)
        for key in ("drop_image", "drop_text", "drop_motion", "drop_plan", "noise_aug_prob"):
            check_range(key, getattr(self, key), 0.0, 1.0)
        check_range("text_max_length", self.text_max_length, 1, 512)
        if self.object_mask and self.reference != "planned":
            raise ConfigError(f"conditioner.object_mask needs reference='planned', not {self.reference!r}")


class Conditioner:
    """Builds ConditionBatch routes from latents, masks, prompts and scalar controls."""

    def __init__(self, config: ConditionerConfig, text_encoder=None):
        self.config = config
        self._text = text_encoder
        self.planner: MotionPlanner | None = None  # built with the text encoder's width, on first use

    # -- encoders ------------------------------------------------------------------------------
    @property
    def text_encoder(self):
        if self._text is None:
            from kinema.text import get_text_encoder

            self._text = get_text_encoder(_with_length(self.config.text_encoder, self.config.text_max_length))
        return self._text

    @property
    def text_dim(self) -> int:
        return self.text_encoder.dim

    def encode_text(self, prompts: list[str]) -> tuple[Tensor, Tensor]:
        tokens, mask = self.text_encoder.encode(list(prompts))
        return tokens.float(), mask.bool()

    def vector(self, fps: Tensor, motion: Tensor | None, noise_aug: Tensor) -> Tensor:
        """(B,) scalars -> (B, V) in VECTOR_FIELDS order. A missing motion amount is 0."""
        c = self.config
        motion_v = torch.zeros_like(fps) if motion is None else 1.0 + motion.float() * c.motion_scale
        parts = {"fps": fps.float() * c.fps_scale, "motion": motion_v, "noise_aug": noise_aug.float()}
        return torch.stack([parts[k] for k in VECTOR_FIELDS], dim=1)

    def get_planner(self, latent_channels: int | None = None) -> MotionPlanner:
        """The motion planner of ``reference="planned"`` (fresh weights until trained or loaded);
        with ``object_mask`` its segmenter reads ``latent_channels``-channel latents."""
        if self.config.reference != "planned":
            raise ValueError(f"conditioner.reference={self.config.reference!r} has no motion planner")
        if self.planner is None:
            if self.config.object_mask and latent_channels is None:
                raise ValueError("conditioner.object_mask: the planner's segmenter needs latent_channels")
            self.planner = MotionPlanner(self.text_dim, latent_channels=latent_channels if self.config.object_mask
                                         else None)
        return self.planner

    def concat_channels(self, latent_channels: int) -> int:
        """Width of the concat route: masked latents + mask [+ reference latents]."""
        extra = {"none": 0, "nearest": 1, "planned": 2}[self.config.reference]
        return latent_channels + 1 + extra * latent_channels

    def reference_latents(self, concat: Tensor, latent_channels: int) -> Tensor | None:
        """The video the concat route shows the backbone, (B, C, T, h, w), or None (``reference="none"``):
        the layered render (``object_mask``), the camera-warped known frame (``planned``) or the
        nearest known frame (``nearest``). An SDEdit start noises it (:class:`~kinema.sampling.pipeline.I2VPipeline`)."""
        C, ref = latent_channels, self.config.reference
        if ref == "none":
            return None
        if ref == "planned" and not self.config.object_mask:
            return concat[:, C + 1:2 * C + 1]  # route: known, mask, camera-warped, object-shifted
        return concat[:, -C:]

    @staticmethod
    def concat(known: Tensor, mask: Tensor) -> Tensor:
        """Eq. 12 route. known (B, C, T, h, w) latents, mask (B, T) in [0, 1] -> (B, C+1, T, h, w)."""
        m = mask.to(known.dtype)[:, None, :, None, None].expand(-1, 1, -1, *known.shape[-2:])
        return torch.cat([known * m, m], dim=1)

    def route(self, known: Tensor, mask: Tensor, plan: Tensor | None = None, planned: Tensor | None = None) -> Tensor:
        """The concat route this config asks for: Eq. 12, then the reference latents if set.

        ``plan`` (B, 6) is used by ``reference="planned"`` only; None = no motion. ``planned``
        (B, C, T, h, w): the encoded layered frames (:meth:`layered`, ``object_mask`` models), which
        replace the object copy.
        """
        out = self.concat(known, mask)
        if self.config.reference == "nearest":
            out = torch.cat([out, nearest_known(known, mask)], dim=1)
        elif self.config.reference == "planned":
            refs = warp_references(nearest_known(known, mask), mask, plan)
            if planned is not None:
                refs = torch.cat([refs[:, :known.shape[1]], planned.to(refs)], dim=1)
            out = torch.cat([out, refs], dim=1)
        return out

    def layered(self, frames: Tensor, mask: Tensor, plan: Tensor, object_masks: Tensor, encode) -> Tensor:
        """The plan rendered in pixels (plate + object sprite) and encoded: (B, C, T, h, w).

        frames (B, 3, T, H, W) known pixel frames, object_masks (B, T, H, W) in [0, 1], ``encode``
        the autoencoder's (B, 3, T, H, W) -> (B, C, T, h, w).
        """
        with torch.no_grad():
            planned = encode(render_layers(frames, mask, plan, object_masks))
        return planned * (mask > 0).any(dim=1).to(planned).view(-1, 1, 1, 1, 1)  # no known frame: nothing to show

    # -- training ------------------------------------------------------------------------------
    def training_batch(
        self,
        latents: Tensor,  # (B, C, T, h, w) clean latents of the clip
        prompts: list[str],
        fps: Tensor,  # (B,)
        motion: Tensor | None,  # (B,) or None when the data has no motion score
        generator: torch.Generator,
        plan: Tensor | None = None,  # (B, 6) exact motion plans, or None when the data has none
        object_masks: Tensor | None = None,  # (B, T, H, W) the main object's masks, or None
        frames: Tensor | None = None,  # (B, 3, T, H, W) the clip's pixels: layered references (object_mask)
        encode=None,  # the autoencoder's encode, for the layered references
        task_mix: TaskMix | None = None,  # a training stage's own mix (None = conditioner.task_mix)
    ) -> tuple[ConditionBatch, Tensor]:
        """Draw a task per sample, noise-augment the known frames, drop conditions for CFG.

        Returns (cond, mask (B, T)).
        """
        B, _, T = latents.shape[:3]
        c = self.config
        modes, mask = sample_tasks(B, T, task_mix or c.task_mix, generator)  # mask (B, T)
        mask = mask.to(latents.device)
        known = _loopify(latents, modes)
        aug = _draw_noise_aug(B, c, generator).to(latents.device)
        eps = torch.randn(known.shape, generator=generator).to(latents.device)
        known = known + aug.view(B, 1, 1, 1, 1) * eps
        tokens, tmask = self.encode_text(prompts)
        drop = lambda p: torch.rand(B, generator=generator) < p  # noqa: E731
        vec = self.vector(fps, motion, aug)
        if motion is not None:  # a dropped motion amount reads as "not given" (0)
            vec[:, VECTOR_FIELDS.index("motion")] *= (~drop(c.drop_motion)).float().to(vec.device)
        if c.reference != "planned":
            plan = None  # only a planned reference reads it (and only it draws the plan dropout)
        elif plan is not None:  # a dropped plan reads as "no motion planned"
            plan = plan.float().to(latents.device) * (~drop(c.drop_plan)).float().to(latents.device)[:, None]
        planned = None
        if c.object_mask and all(x is not None for x in (plan, object_masks, frames, encode)):
            px, px_masks = _loopify(frames, modes), _loopify(object_masks.float()[:, None], modes)[:, 0]
            planned = self.layered(px, mask, plan, px_masks, encode)
            planned = planned + aug.view(B, 1, 1, 1, 1) * torch.randn(planned.shape, generator=generator).to(planned)
        cond = ConditionBatch(concat=self.route(known, mask, plan, planned), tokens=tokens.to(latents.device),
                              token_mask=tmask.to(latents.device), vector=vec.to(latents.device))
        cond = cond.drop_image(drop(c.drop_image)).drop_text(drop(c.drop_text))
        return cond, mask

    # -- sampling ------------------------------------------------------------------------------
    def sampling_batch(
        self,
        conditions: Conditions,
        num_frames: int,
        known_latents: list[Tensor],  # one (C, h, w) latent per conditions.frames entry
        latent_shape: tuple[int, int, int],  # (C, h, w)
        generator: torch.Generator | None = None,
        encode=None,  # the autoencoder's encode: layered references for object_mask models
    ) -> ConditionBatch:
        """One sample's ConditionBatch (B = 1) from user conditions and encoded frames."""
        C, h, w = latent_shape
        known = torch.zeros(1, C, num_frames, h, w)
        mask = torch.zeros(1, num_frames)
        for i, frame, z in zip(conditions.resolved_indices(num_frames), conditions.frames, known_latents):
            known[0, :, i] = z
            mask[0, i] = frame.strength
        if conditions.noise_aug > 0:
            eps = torch.randn(known.shape, generator=generator)
            known = known + conditions.noise_aug * eps
        tokens, tmask = self.encode_text([conditions.prompt])
        motion = None if conditions.motion is None else torch.tensor([conditions.motion])
        vec = self.vector(torch.tensor([conditions.fps]), motion, torch.tensor([conditions.noise_aug]))
        if conditions.object_mask is not None and not self.config.object_mask:
            raise ConfigError("object_mask: this model has no object-masked motion plan "
                              "(it was trained without conditioner.object_mask)")
        if self.config.reference == "planned":
            self.get_planner(C)  # built with its segmenter's width before the plan needs it
        plan = self.sampling_plan(conditions, tokens, tmask, motion)
        obj = self.segment(known, mask, tokens, tmask) if plan is not None else None
        planned = None
        if obj is not None and encode is not None and conditions.frames:
            planned = self._sampling_layers(conditions, num_frames, mask, plan, obj, encode, generator)
        unplanned = None if plan is None else self.route(known, mask, torch.zeros_like(plan))
        return ConditionBatch(concat=self.route(known, mask, plan, planned), tokens=tokens, token_mask=tmask,
                              vector=vec, unplanned=unplanned)

    def _sampling_layers(self, conditions: Conditions, num_frames: int, mask: Tensor, plan: Tensor, obj: Tensor,
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

    def segment(self, known: Tensor, mask: Tensor, tokens: Tensor, token_mask: Tensor) -> Tensor | None:
        """(B, T, h, w) the main object in each frame's nearest known latent, by the planner's segmenter;
        None without ``object_mask``."""
        if not self.config.object_mask:
            return None
        segmenter = self.get_planner(known.shape[1]).segmenter.to(known.device).eval()
        B, C, T, h, w = known.shape
        src, _ = nearest_index(mask)
        frames = torch.gather(known, 2, src[:, None, :, None, None].expand(-1, C, -1, h, w))  # (B, C, T, h, w)
        flat = frames.transpose(1, 2).reshape(B * T, C, h, w)
        rep = lambda x: x.repeat_interleave(T, dim=0)  # noqa: E731
        return segmenter.mask(flat, rep(tokens), rep(token_mask)).view(B, T, h, w)

    def sampling_plan(self, conditions: Conditions, tokens: Tensor, token_mask: Tensor,
                      motion: Tensor | None) -> Tensor | None:
        """(1, 6) plan: the user's own (``conditions.plan``), else the planner's reading of the prompt;
        a named ``conditions.camera`` move replaces its camera rates."""
        if self.config.reference != "planned":
            if conditions.plan is not None or conditions.camera is not None:
                raise ConfigError("this model takes no motion plan or camera move "
                                  f"(its conditioner.reference is {self.config.reference!r}, not 'planned')")
            return None
        if conditions.plan is not None:
            plan = torch.tensor([conditions.plan], dtype=torch.float32)
        else:
            plan = self.get_planner().to(tokens.device).eval().plan(tokens, token_mask, motion).cpu()
        if conditions.camera is not None:
            plan[0, :4] = torch.tensor(camera_rates(conditions.camera))
        return plan


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


def _draw_noise_aug(batch: int, c: ConditionerConfig, generator: torch.Generator) -> Tensor:
    """SVD-style log-normal noise-augmentation levels; 0 for samples not augmented."""
    level = torch.exp(c.noise_aug_mean + c.noise_aug_std * torch.randn(batch, generator=generator))
    use = torch.rand(batch, generator=generator) < c.noise_aug_prob
    return level * use
