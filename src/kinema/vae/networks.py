"""Encoder and decoder of the 2D KL autoencoder; both act on frames (N, C, H, W)."""

from __future__ import annotations

from torch import Tensor, nn

from kinema.vae.blocks import Downsample, ResBlock, Upsample, make_norm
from kinema.vae.config import KLAutoencoderConfig


class Encoder(nn.Module):
    """(N, 3, H, W) -> moments (N, 2 * latent_channels, H / f, W / f), f = 2 ** (levels - 1)."""

    def __init__(self, cfg: KLAutoencoderConfig):
        super().__init__()
        widths = [cfg.base_channels * m for m in cfg.channel_mult]
        norm = dict(norm=cfg.norm, groups=cfg.norm_groups)
        self.conv_in = nn.Conv2d(cfg.in_channels, widths[0], 3, padding=1)
        layers, c = [], widths[0]
        for level, w in enumerate(widths):
            for _ in range(cfg.num_res_blocks):
                layers.append(ResBlock(c, w, **norm))
                c = w
            if level < len(widths) - 1:
                layers.append(Downsample(c))
        self.down = nn.Sequential(*layers)
        self.mid = ResBlock(c, c, **norm)
        self.out = nn.Sequential(make_norm(c, cfg.norm, cfg.norm_groups), nn.SiLU(),
                                 nn.Conv2d(c, 2 * cfg.latent_channels, 3, padding=1))

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.mid(self.down(self.conv_in(x))))


class Decoder(nn.Module):
    """Latents (N, latent_channels, h, w) -> pixels (N, 3, h * f, w * f), the encoder mirrored."""

    def __init__(self, cfg: KLAutoencoderConfig):
        super().__init__()
        widths = [cfg.base_channels * m for m in cfg.channel_mult][::-1]
        norm = dict(norm=cfg.norm, groups=cfg.norm_groups)
        c = widths[0]
        self.conv_in = nn.Conv2d(cfg.latent_channels, c, 3, padding=1)
        self.mid = ResBlock(c, c, **norm)
        layers = []
        for level, w in enumerate(widths):
            for _ in range(cfg.num_res_blocks):
                layers.append(ResBlock(c, w, **norm))
                c = w
            if level < len(widths) - 1:
                layers.append(Upsample(c))
        self.up = nn.Sequential(*layers)
        self.out = nn.Sequential(make_norm(c, cfg.norm, cfg.norm_groups), nn.SiLU(),
                                 nn.Conv2d(c, cfg.in_channels, 3, padding=1))

    def forward(self, z: Tensor) -> Tensor:
        return self.out(self.up(self.mid(self.conv_in(z))))
