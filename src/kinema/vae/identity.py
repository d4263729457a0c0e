"""Pixel space as a (trivial) autoencoder, for pixel-space diffusion models."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from kinema.vae.config import IdentityAutoencoderConfig
from kinema.vae.kl import check_video


class IdentityAutoencoder(nn.Module):
    """encode and decode return their input (copied): latent_channels = 3, downsample = 1."""

    kind = "identity"
    downsample = 1

    def __init__(self, config: IdentityAutoencoderConfig | None = None):
        super().__init__()
        self.config = config if config is not None else IdentityAutoencoderConfig()

    @property
    def latent_channels(self) -> int:
        return self.config.in_channels

    def encode(self, video: Tensor, generator: torch.Generator | None = None, sample: bool = False) -> Tensor:
        check_video(video, self.config.in_channels, 1)
        return video.clone()

    def decode(self, z: Tensor, tiled: bool | None = False) -> Tensor:
        check_video(z, self.config.in_channels, 1, "latents")
        return z.clone()

    def decode_tiled(self, z: Tensor, **_: object) -> Tensor:
        return self.decode(z)
