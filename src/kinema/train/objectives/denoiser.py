"""The denoiser objective: the backbone, wrapped by its parameterization, learns to denoise
latents under the run's density and weighting (Karras et al. 2022, Eq. 2 and Table 1); a
``trainable="lora"`` stage trains LoRA adapters injected into it (Hu et al. 2021)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from kinema.config import to_dict
from kinema.diffusion import DiffusionLoss, Truncated, get_density, top_weight_ratio
from kinema.train.objectives.base import Objective


def training_eps(train_noise: str, latents: torch.Tensor, mask: torch.Tensor,
                 generator: torch.Generator) -> torch.Tensor | None:
    """The noise of a denoiser step for ``diffusion.train_noise``: None (the loss draws i.i.d.
    noise) or PYoCo's mixed noise (Ge et al. 2023), the ``mixed`` sampling prior's share for clips
    with a known frame (what an SDEdit start samples them with) and i.i.d. for text-only clips (what
    text-to-video samples with). latents (B, C, T, h, w), mask (B, T) the known frames."""
    if train_noise == "iid":
        return None
    from kinema.sampling.noise_priors import MIXED_SHARED, mixed_noise

    share = MIXED_SHARED * (mask > 0).any(dim=1).float().cpu()  # (B,)
    return mixed_noise(latents.shape, generator=generator, shared=share).to(latents)


def add_lora(backbone: nn.Module, spec) -> nn.Module:
    """Inject the LoRA adapters of a stage's ``lora`` spec (a LoRASpec) into ``backbone``."""
    from kinema.models.lora import LoRAConfig, inject_lora

    inject_lora(backbone, LoRAConfig(rank=spec.rank, alpha=spec.alpha, targets=list(spec.targets), dropout=spec.dropout))
    return backbone


class DenoiserObjective(Objective):
    target = "denoiser"
    keeps_ema = True

    def __init__(self, c, config, device, log=print):
        super().__init__(c, config, device, log)
        d = config.diffusion
        ratio = top_weight_ratio(c.param, d.weighting, d.min_snr_gamma)
        if ratio is not None and ratio < 1e-3:
            log(f"warning: diffusion.weighting={d.weighting} gives sigma_max={c.param.sigma_max:.3g}, where "
                f"sampling starts, {ratio:.1e} of the x0-loss weight at sigma=1: the first sampling step "
                f"will guess the layout untrained (prefer weighting=native with v-prediction)")
        self.density = get_density(d.density, c.param)  # the run's; a stage may truncate it
        self.loss_fn = DiffusionLoss(c.param, self.density, weighting=d.weighting, min_snr_gamma=d.min_snr_gamma)

    @property
    def module(self):
        return self.c.backbone

    def stage_density(self, stage):
        """The run's training density, restricted to sigma <= ``stage.max_sigma`` where the stage sets it."""
        return self.density if stage.max_sigma is None else Truncated(self.density, stage.max_sigma)

    def prepare(self, stage) -> None:
        if stage.trainable == "lora" and not any("lora" in n for n, _ in self.module.named_parameters()):
            add_lora(self.module, stage.lora).to(self.device)
        self.loss_fn.density = self.stage_density(stage)

    def find_unused(self, stage) -> bool:
        return stage.image_prob > 0  # image-mode steps skip the temporal layers

    def loss(self, stage, model, batch, gen, bins):
        from kinema.diffusion import Denoiser

        video = self.on_device(batch, "video")  # (B, 3, T, H, W) in [-1, 1], or None from a latent cache
        if video is None:  # a latent cache: encoded once, by this run's autoencoder (checked), with the same mean
            latents = batch["latents"].to(self.device)  # (B, C, T, h, w)
        else:
            with torch.no_grad():
                latents = self.c.autoencoder.encode(video)  # (B, C, T, h, w)
        cond, mask = self.c.conditioner.training_batch(
            latents, batch["caption"], batch["fps"].to(self.device), self.on_device(batch, "motion"), gen,
            plan=self.on_device(batch, "plan"), object_masks=self.on_device(batch, "plan_mask"), frames=video,
            encode=self.c.autoencoder.encode, task_mix=stage.task_mix)
        image_mode = stage.image_prob > 0 and torch.rand((), generator=gen).item() < stage.image_prob
        kw = {"image_mode": True} if image_mode else {}
        eps = training_eps(self.config.diffusion.train_noise, latents, mask, gen)
        per_sample, sigma = self.loss_fn(Denoiser(model, self.c.param), latents, cond, gen, eps=eps, **kw)
        bins.add(per_sample.detach(), sigma.detach())
        return per_sample.mean()

    def finish(self, stage, out: Path | None) -> None:
        if stage.trainable == "lora" and out is not None:
            from kinema.checkpoint import save_checkpoint
            from kinema.models.lora import lora_state_dict

            save_checkpoint(out / f"lora_{stage.name}.safetensors", lora_state_dict(self.module),
                            {"lora": to_dict(stage.lora), "backbone": self.c.model_config["backbone"]})
