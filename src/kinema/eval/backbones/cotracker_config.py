"""Sizes of CoTracker2 (Karaev et al. 2023); :data:`COTRACKER2` is the released ``cotracker2.pth``."""

from __future__ import annotations

from dataclasses import dataclass

from kinema.errors import ConfigError

FLOW_EMBED = 64  # channels per axis of the displacement embedding (fixed in the original)


@dataclass(frozen=True)
class CoTracker2Config:
    window_len: int = 8  # frames per sliding window; windows advance by window_len // 2
    stride: int = 4  # feature maps at 1/stride of the model resolution
    latent_dim: int = 128  # feature channels of the encoder and of the track features
    hidden_size: int = 384  # transformer width
    num_heads: int = 8  # attention heads (head width hidden_size / num_heads = 48)
    time_depth: int = 6  # time-attention layers
    space_depth: int = 6  # track-attention layers (after every time_depth / space_depth time layers)
    num_virtual_tracks: int = 64  # learned tokens that mediate attention across tracks
    mlp_ratio: float = 4.0  # MLP width / hidden_size
    corr_levels: int = 4  # correlation pyramid scales
    corr_radius: int = 3  # correlation window radius (window (2r+1)^2)
    model_resolution: tuple[int, int] = (384, 512)  # (H, W) every video is resized to

    def __post_init__(self):
        positive = ("window_len", "stride", "latent_dim", "hidden_size", "num_heads", "time_depth", "space_depth",
                    "num_virtual_tracks", "corr_levels", "corr_radius")
        for name in positive:
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ConfigError(f"CoTracker2Config.{name}={getattr(self, name)!r} must be a positive integer")
        if self.window_len < 2 or self.window_len % 2:
            raise ConfigError(f"CoTracker2Config.window_len={self.window_len} must be even and >= 2")
        if self.hidden_size % self.num_heads:
            raise ConfigError(f"CoTracker2Config.hidden_size={self.hidden_size} is not divisible by "
                              f"num_heads={self.num_heads}")
        if self.time_depth % self.space_depth:
            raise ConfigError(f"CoTracker2Config.time_depth={self.time_depth} must be a multiple of "
                              f"space_depth={self.space_depth}")
        if self.latent_dim % 4:
            raise ConfigError(f"CoTracker2Config.latent_dim={self.latent_dim} must be a multiple of 4")
        if self.input_dim % 4:
            raise ConfigError(f"CoTracker2Config: token width {self.input_dim} (from latent_dim={self.latent_dim}, "
                              f"corr_levels={self.corr_levels}, corr_radius={self.corr_radius}) must be a "
                              f"multiple of 4 for the sine-cosine position embedding")
        h, w = self.model_resolution
        need = self.stride * 2 ** (self.corr_levels - 1)  # every pooled level keeps at least 1 px
        if min(h, w) < need:
            raise ConfigError(f"CoTracker2Config.model_resolution={self.model_resolution} is too small for "
                              f"stride {self.stride} and {self.corr_levels} correlation levels "
                              f"(need at least {need} px per side)")

    @property
    def input_dim(self) -> int:
        """Transformer input per token: displacement embedding, correlations, track feature, mask + visibility."""
        corr = self.corr_levels * (2 * self.corr_radius + 1) ** 2
        return (2 + 2 * FLOW_EMBED) + corr + self.latent_dim + 2

    @property
    def feature_size(self) -> tuple[int, int]:
        """(H, W) of the feature maps."""
        return self.model_resolution[0] // self.stride, self.model_resolution[1] // self.stride


COTRACKER2 = CoTracker2Config()  # facebookresearch/co-tracker hub entry "cotracker2": input_dim 456
