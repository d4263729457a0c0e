"""The autoencoder objective: the whole latent autoencoder learns to reconstruct clips (its own
reconstruction + KL loss); the stage ends by calibrating the latent scale/shift."""

from __future__ import annotations

from pathlib import Path

import torch

from kinema.train.distributed import unwrap
from kinema.train.objectives.base import Objective


class AutoencoderObjective(Objective):
    target = "autoencoder"

    @property
    def module(self):
        return self.c.autoencoder

    def trainable(self, stage) -> str:
        return "all"

    def loss(self, stage, model, batch, gen, bins):
        return unwrap(model).loss(self.on_device(batch, "video"), gen)["total"]  # video (B, 3, T, H, W)

    def finish(self, stage, out: Path | None) -> None:
        self.calibrate()

    @torch.no_grad()
    def calibrate(self, batches: int = 8) -> None:
        """Set the latent scale/shift so latents of validation clips have zero mean, unit std."""
        from kinema.train.data import batch_iterator, build_dataset
        from kinema.vae import autoencoder_spec, estimate_scale_shift

        cfg = self.config
        ds = build_dataset(cfg.data, tuple(cfg.data.size), cfg.data.frames, cfg.seed + 1, split="val")
        it = batch_iterator(ds, cfg.batch_size, cfg.seed, 0)
        videos = [next(it)["video"].to(self.device) for _ in range(batches)]
        ae = self.c.autoencoder.eval()
        scale, shift = estimate_scale_shift(ae, videos)
        ae.set_scale_shift(scale, shift)
        self.c.model_config["autoencoder"] = autoencoder_spec(ae)
        self.log(f"autoencoder latent scale={float(scale):.4f} shift={float(shift):.4f}")
