"""Latent autoencoders: video (B, 3, T, H, W) in [-1, 1] <-> latents (B, C, T, h, w) of about
unit variance. A per-frame 2D KL-VAE (presets tiny / f4c4 / f8c4 / f4c8) and the identity
(pixel space); tiled decoding with bounded memory; scale/shift from data; safetensors I/O."""

from kinema.vae.build import (AUTOENCODERS, autoencoder_from_spec, autoencoder_spec,
                              build_autoencoder)
from kinema.vae.config import PRESETS, IdentityAutoencoderConfig, KLAutoencoderConfig, preset
from kinema.vae.distribution import DiagonalGaussian
from kinema.vae.identity import IdentityAutoencoder
from kinema.vae.io import load_autoencoder, save_autoencoder
from kinema.vae.kl import KLAutoencoder
from kinema.vae.scale import estimate_scale_shift

__all__ = [
    "AUTOENCODERS", "DiagonalGaussian", "IdentityAutoencoder", "IdentityAutoencoderConfig", "KLAutoencoder",
    "KLAutoencoderConfig", "PRESETS", "autoencoder_from_spec", "autoencoder_spec", "build_autoencoder",
    "estimate_scale_shift", "load_autoencoder", "preset", "save_autoencoder",
]
