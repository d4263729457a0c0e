"""The conditioner: user conditions -> ConditionBatch routes (Wang et al. 2026, I2V survey Eq. 12-15).

Each condition m is encoded by its own encoder E_m, projected to a route P_m and scaled by a
strength gamma_m (Eq. 14: u~_m = gamma_m P_m(E_m(s_m))); the backbone fuses the routes (Eq. 15).
The encoders (:mod:`kinema.conditioning.encoders`): known frames + mask on the concat route
(Eq. 12), optionally a reference (``"nearest"`` known latent, or ``"planned"``: that latent moved by a
motion plan), prompt tokens for cross-attention (Eq. 13), scalar controls on the vector route.
The same code builds the training batch (task mix + condition dropout for classifier-free
guidance) and the sampling batch (from :class:`Conditions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from kinema.conditioning.batch import VECTOR_FIELDS, ConditionBatch, part_of
from kinema.conditioning.encoders import (
    Encoder,
    KnownFrames,
    NearestReference,
    PlannedReference,
    ScalarControls,
    TextTokens,
    _loopify,
    nearest_known,  # noqa: F401  (its old home)
)
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
    """Builds ConditionBatch routes from its encoders: known frames, a reference (none, nearest or
    planned), text tokens and scalar controls, each declaring its parts, dropout and null form."""

    def __init__(self, config: ConditionerConfig, text_encoder=None):
        c = self.config = config
        self.frames = KnownFrames()
        self.reference: Encoder | None = {"none": lambda: None, "nearest": NearestReference,
                                          "planned": lambda: PlannedReference(lambda: self.text_dim, c.object_mask,
                                                                              c.drop_plan)}[c.reference]()
        self.text = TextTokens(c.text_encoder, c.text_max_length, text_encoder)
        self.scalars = ScalarControls(c.fps_scale, c.motion_scale)
        self.encoders: list[Encoder] = [e for e in (self.frames, self.reference, self.text, self.scalars) if e]

    # -- encoders ------------------------------------------------------------------------------
    @property
    def text_encoder(self):
        return self.text.text_encoder

    @property
    def text_dim(self) -> int:
        return self.text_encoder.dim

    def encode_text(self, prompts: list[str]) -> tuple[Tensor, Tensor]:
        return self.text.encode(prompts)

    @property
    def planner(self) -> MotionPlanner | None:
        return getattr(self.reference, "planner", None)

    def modules(self, latent_channels: int) -> dict[str, nn.Module]:
        """The encoders' trained submodules by checkpoint prefix (the planner of a planned reference)."""
        return {name: m for e in self.encoders for name, m in e.modules(latent_channels).items()}

    def layout(self, latent_channels: int) -> tuple[tuple[str, int], ...]:
        """(part, channels) of the concat route in order, e.g. frames C+1, warped C, shifted C."""
        return tuple(p for e in self.encoders for p in e.parts(latent_channels))

    def concat_channels(self, latent_channels: int) -> int:
        """Width of the concat route: masked latents + mask [+ reference latents]."""
        return sum(n for _, n in self.layout(latent_channels))

    @property
    def makes_reference(self) -> bool:
        """Does the concat route hold a reference video (an SDEdit start for strength < 1)?"""
        return any(e.video_part for e in self.encoders)

    def reference_latents(self, concat: Tensor, latent_channels: int) -> Tensor | None:
        """The video the concat route shows the backbone, (B, C, T, h, w), or None (``reference="none"``).
        An SDEdit start noises it (:class:`~kinema.sampling.pipeline.I2VPipeline`)."""
        part = next((e.video_part for e in self.encoders if e.video_part), None)
        return None if part is None else part_of(concat, self.layout(latent_channels), part)

    @staticmethod
    def concat(known: Tensor, mask: Tensor) -> Tensor:
        """Eq. 12 route. known (B, C, T, h, w) latents, mask (B, T) in [0, 1] -> (B, C+1, T, h, w)."""
        return KnownFrames.encode(known, mask)

    def route(self, known: Tensor, mask: Tensor, plan: Tensor | None = None, planned: Tensor | None = None) -> Tensor:
        """The concat route: each concat encoder's parts in order. ``plan`` (B, 6), None = no motion, and
        ``planned`` (B, C, T, h, w) layered frames are read by a planned reference only."""
        return torch.cat([e.encode(known, mask, plan=plan, planned=planned) for e in self.encoders if e.parts(1)], dim=1)

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
        vec = self.scalars.encode(fps, motion, aug)
        if motion is not None:  # a dropped motion amount reads as "not given" (0)
            vec[:, VECTOR_FIELDS.index("motion")] *= (~drop(c.drop_motion)).float().to(vec.device)
        kw = {}
        if isinstance(self.reference, PlannedReference):
            kw = self.reference.training_inputs(plan, object_masks, frames, encode, modes, mask, aug, drop, generator)
        cond = ConditionBatch(concat=self.route(known, mask, **kw), tokens=tokens.to(latents.device),
                              token_mask=tmask.to(latents.device), vector=vec.to(latents.device))
        for e in (self.frames, self.text):  # dropout on the route (the others dropped their inputs above)
            cond = cond.drop(e.guide, drop(getattr(c, e.drop_key)))
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
        vec = self.scalars.encode(torch.tensor([conditions.fps]), motion, torch.tensor([conditions.noise_aug]))
        if conditions.object_mask is not None and not self.config.object_mask:
            raise ConfigError("object_mask: this model has no object-masked motion plan "
                              "(it was trained without conditioner.object_mask)")
        kw, nulls = {}, {}
        if isinstance(self.reference, PlannedReference):
            kw = self.reference.sampling_inputs(conditions, num_frames, known, mask, tokens, tmask, motion, encode,
                                                generator)
            nulls["plan"] = self.route(known, mask, torch.zeros_like(kw["plan"]))  # the null form: a zero plan
        else:
            self.sampling_plan(conditions, tokens, tmask, motion)  # refuses a plan or camera move
        return ConditionBatch(concat=self.route(known, mask, **kw), tokens=tokens, token_mask=tmask, vector=vec,
                              nulls=nulls)

    def sampling_plan(self, conditions: Conditions, tokens: Tensor, token_mask: Tensor,
                      motion: Tensor | None) -> Tensor | None:
        """(1, 6) plan: the user's own (``conditions.plan``), else the planner's reading of the prompt;
        a named ``conditions.camera`` move replaces its camera rates."""
        if not isinstance(self.reference, PlannedReference):
            if conditions.plan is not None or conditions.camera is not None:
                raise ConfigError("this model takes no motion plan or camera move "
                                  f"(its conditioner.reference is {self.config.reference!r}, not 'planned')")
            return None
        return self.reference.sampling_plan(conditions, tokens, token_mask, motion)


def _draw_noise_aug(batch: int, c: ConditionerConfig, generator: torch.Generator) -> Tensor:
    """SVD-style log-normal noise-augmentation levels; 0 for samples not augmented."""
    level = torch.exp(c.noise_aug_mean + c.noise_aug_std * torch.randn(batch, generator=generator))
    use = torch.rand(batch, generator=generator) < c.noise_aug_prob
    return level * use
