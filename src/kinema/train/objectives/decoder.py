"""The decoder objective: a KL autoencoder's decoder alone learns to decode (optionally noised)
latents; the encoder, and so the latent space the backbone was trained on, stays fixed."""

from __future__ import annotations

from kinema.errors import ConfigError
from kinema.train.distributed import unwrap
from kinema.train.objectives.base import Objective


class DecoderObjective(Objective):
    target = "decoder"

    @property
    def module(self):
        return self.c.autoencoder

    def prepare(self, stage) -> None:
        if not hasattr(self.module, "decoder_loss"):
            raise ConfigError(f"stage {stage.name!r}: target 'decoder' needs a KL autoencoder, "
                              f"not {self.config.autoencoder.kind!r}")

    def trainable(self, stage) -> str:
        return "decoder."

    def loss(self, stage, model, batch, gen, bins):
        video = self.on_device(batch, "video")  # (B, 3, T, H, W) in [-1, 1]
        return unwrap(model).decoder_loss(video, gen, latent_noise=stage.latent_noise)["total"]
