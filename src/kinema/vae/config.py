"""Typed configs and named presets of the autoencoders."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from kinema.config import check_choice, check_range
from kinema.errors import ConfigError


@dataclass
class KLAutoencoderConfig:
    """Per-frame 2D KL autoencoder (the LDM "KL-f4/f8" family, Wang et al. 2026, I2V survey Sec. II-A2).

    No attention and, by default, a per-pixel norm: every output pixel depends only on a small
    neighbourhood of latents, so ``decode_tiled`` reproduces ``decode`` exactly (LDM's GroupNorm
    would make every pixel depend on the whole frame's statistics; ``norm="group"`` keeps that
    option). ``len(channel_mult)`` sets the spatial downsampling: 2 ** (levels - 1), e.g. 3 levels -> 4x,
    4 levels -> 8x. Latents are returned as ``(z - shift) * scale``.
    """

    in_channels: int = 3  # pixel channels
    latent_channels: int = 4  # C of the latents (B, C, T, h, w)
    base_channels: int = 64  # width of the first level
    channel_mult: tuple[int, ...] = (1, 2, 4)  # width multiplier per level
    num_res_blocks: int = 1  # residual blocks per level (encoder and decoder)
    norm: str = "layer"  # "layer": per-pixel LayerNorm over channels (local, tiles exactly); "group": GroupNorm
    norm_groups: int = 32  # groups when norm="group" (reduced to divide the width when needed)
    scale: float = 1.0  # latent scale, 1 / std of raw latents (estimate_scale_shift)
    shift: float = 0.0  # latent shift, mean of raw latents
    kl_weight: float = 1e-6  # beta of the KL term in loss()
    recon: str = "l1"  # reconstruction loss: "l1" or "l2"

    def __post_init__(self):
        self.channel_mult = tuple(int(m) for m in self.channel_mult)
        for key in ("in_channels", "latent_channels", "base_channels", "num_res_blocks", "norm_groups"):
            check_range(key, getattr(self, key), 1)
        if not 1 <= len(self.channel_mult) <= 6 or min(self.channel_mult) < 1:
            raise ConfigError(f"channel_mult={self.channel_mult} needs 1 to 6 levels of multipliers >= 1")
        if not self.scale > 0:
            raise ConfigError(f"scale={self.scale} must be > 0")
        check_range("kl_weight", self.kl_weight, 0.0)
        check_choice("recon", self.recon, ("l1", "l2"))
        check_choice("norm", self.norm, ("layer", "group"))

    @property
    def downsample(self) -> int:
        return 2 ** (len(self.channel_mult) - 1)


@dataclass
class IdentityAutoencoderConfig:
    """Pixel space: latents are the pixels (3 channels, no downsampling)."""

    in_channels: int = 3


PRESETS: dict[str, dict[str, object]] = {
    "kl": {
        "tiny": KLAutoencoderConfig(base_channels=8, channel_mult=(1, 2, 2), num_res_blocks=1),
        "f4c4": KLAutoencoderConfig(latent_channels=4, base_channels=64, channel_mult=(1, 2, 4)),
        "f8c4": KLAutoencoderConfig(latent_channels=4, base_channels=64, channel_mult=(1, 2, 4, 4), num_res_blocks=2),
        "f4c8": KLAutoencoderConfig(latent_channels=8, base_channels=64, channel_mult=(1, 2, 4)),
    },
    "identity": {"default": IdentityAutoencoderConfig()},
}
CONFIG_CLASSES = {"kl": KLAutoencoderConfig, "identity": IdentityAutoencoderConfig}


def preset(kind: str, name: str):
    """A fresh copy of preset ``name`` of autoencoder ``kind``."""
    if kind not in PRESETS:
        raise ConfigError(f"autoencoder kind {kind!r} is not one of {sorted(PRESETS)}")
    if name not in PRESETS[kind]:
        raise ConfigError(f"autoencoder preset {name!r} is not one of {sorted(PRESETS[kind])} for kind {kind!r}")
    return dataclasses.replace(PRESETS[kind][name])
