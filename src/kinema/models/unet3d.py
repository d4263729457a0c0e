"""Pseudo-3D U-Net (Wang et al. 2026 Eq. 3): an image U-Net with temporal layers after its spatial ones.

Each block is ``F_out = T(S(F_in))``: S = per-frame ResBlock / spatial transformer, T = temporal
convolution / temporal attention (Eq. 16). Frames travel as a batch of images ``(B*T, C, H, W)``;
temporal layers fold them back to ``(B, T, ...)``. Every temporal layer ends in a zero-initialised
projection, so a fresh video model equals its image model frame by frame, and ``image_mode=True``
skips them for joint image-video training.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from kinema.config import check_range
from kinema.errors import ConfigError, InputError
from kinema.models.inputs import check_video, tokens_of, vector_of, with_concat
from kinema.models.layers import (Downsample, ResBlock, SpatialTransformer, TemporalAttention, TemporalConv,
                                  PooledTextEmbedder, TimestepEmbedder, Upsample, VectorEmbedder, group_norm)


@dataclass
class UNet3DConfig:
    in_channels: int = 4  # noisy latent channels
    out_channels: int = 4  # raw output channels (the parameterization reads them)
    concat_channels: int = 0  # cond.concat channels (known latents + mask); zero-initialised
    vector_dim: int = 0  # cond.vector scalars (fps, motion, noise_aug); 0 = none
    text_dim: int = 0  # cond.tokens width; 0 = no cross-attention
    pooled_text: bool = False  # also add the pooled prompt to the timestep embedding (zero-initialised)
    base_channels: int = 64  # channels of the first level
    channel_mult: tuple[int, ...] = (1, 2, 4)  # channels per level = base * mult
    num_res_blocks: int = 2  # ResBlocks per level on the way down (one more on the way up)
    attention_levels: tuple[int, ...] = (1, 2)  # levels with spatial (+ temporal) attention
    head_dim: int = 32  # attention head width; heads = channels / head_dim
    temporal_conv: bool = True  # 1-D conv over frames after each ResBlock
    temporal_attention: bool = True  # attention over frames (Eq. 16) after each spatial attention
    dropout: float = 0.0
    gradient_checkpointing: bool = False  # recompute each block in backward to save memory

    def __post_init__(self):
        self.channel_mult, self.attention_levels = tuple(self.channel_mult), tuple(self.attention_levels)
        for key in ("in_channels", "out_channels", "base_channels", "num_res_blocks", "head_dim"):
            check_range(key, getattr(self, key), 1)
        for key in ("concat_channels", "vector_dim", "text_dim"):
            check_range(key, getattr(self, key), 0)
        check_range("dropout", self.dropout, 0.0, 0.99)
        if not self.channel_mult or min(self.channel_mult) < 1:
            raise ConfigError(f"channel_mult={self.channel_mult!r} must be a non-empty list of positive integers")
        for level in self.attention_levels:
            check_range("attention_levels[...]", level, 0, len(self.channel_mult) - 1)
            width = self.base_channels * self.channel_mult[level]
            if width % self.head_dim:
                raise ConfigError(f"head_dim={self.head_dim} must divide the {width} channels of attention level {level}")
        if self.base_channels * self.channel_mult[-1] % self.head_dim:  # the middle block always attends
            raise ConfigError(f"head_dim={self.head_dim} must divide the middle block's "
                              f"{self.base_channels * self.channel_mult[-1]} channels")

    @property
    def size_multiple(self) -> int:
        """What latent height and width must be a multiple of: each level after the first halves them."""
        return 2 ** (len(self.channel_mult) - 1)


@dataclass
class _Context:
    """What every layer may read besides the features."""

    emb: Tensor  # (B*T, 4*base) timestep + vector embedding, one row per frame
    tokens: Tensor | None  # (B, L, D_text)
    token_mask: Tensor | None  # (B, L)
    num_frames: int
    image_mode: bool


def _apply(layer: nn.Module, h: Tensor, ctx: _Context) -> Tensor:
    if isinstance(layer, (TemporalConv, TemporalAttention)):
        return h if ctx.image_mode else layer(h, ctx.num_frames)  # image mode: frames are independent
    if isinstance(layer, ResBlock):
        return layer(h, ctx.emb)
    if isinstance(layer, SpatialTransformer):
        return layer(h, ctx.num_frames, ctx.tokens, ctx.token_mask)
    return layer(h)


def _run_stage(stage: nn.ModuleList, h: Tensor, ctx: _Context) -> Tensor:
    for layer in stage:
        h = _apply(layer, h, ctx)
    return h


class UNet3D(nn.Module):
    """``forward(x_in (B,C,T,H,W), c_noise (B,), cond, *, image_mode=False) -> raw (B, C_out, T, H, W)``."""

    ADDABLE = ("text_embed.",)  # zero-initialised branches a fine-tune may add to a trained model
    size_multiple = property(lambda self: self.config.size_multiple)  # latent H, W must be multiples of it

    def __init__(self, config: UNet3DConfig):
        super().__init__()
        self.config = cfg = config
        ch, emb_dim, levels = cfg.base_channels, 4 * cfg.base_channels, len(cfg.channel_mult)
        self.time_embed = TimestepEmbedder(emb_dim)
        self.vector_embed = VectorEmbedder(cfg.vector_dim, emb_dim) if cfg.vector_dim else None
        self.text_embed = PooledTextEmbedder(cfg.text_dim, emb_dim) if cfg.pooled_text and cfg.text_dim else None
        self.conv_in = nn.Conv2d(cfg.in_channels + cfg.concat_channels, ch, 3, padding=1)
        nn.init.zeros_(self.conv_in.weight[:, cfg.in_channels:])  # new condition channels start silent (Eq. 12)

        self.down, skips = nn.ModuleList(), [ch]
        for level, mult in enumerate(cfg.channel_mult):
            for _ in range(cfg.num_res_blocks):
                self.down.append(self._stage(ch, cfg.base_channels * mult, level in cfg.attention_levels))
                ch = cfg.base_channels * mult
                skips.append(ch)
            if level < levels - 1:
                self.down.append(nn.ModuleList([Downsample(ch)]))
                skips.append(ch)
        self.mid = self._stage(ch, ch, True)
        self.mid.extend(self._stage(ch, ch, False))
        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(cfg.channel_mult))):
            for i in range(cfg.num_res_blocks + 1):
                stage = self._stage(ch + skips.pop(), cfg.base_channels * mult, level in cfg.attention_levels)
                ch = cfg.base_channels * mult
                if level > 0 and i == cfg.num_res_blocks:
                    stage.append(Upsample(ch))
                self.up.append(stage)
        self.norm_out = group_norm(ch)
        self.conv_out = nn.Conv2d(ch, cfg.out_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def _stage(self, in_ch: int, out_ch: int, attention: bool) -> nn.ModuleList:
        """ResBlock [+ temporal conv] [+ spatial transformer + temporal attention]: Eq. 3's T(S(.))."""
        cfg = self.config
        layers: list[nn.Module] = [ResBlock(in_ch, out_ch, 4 * cfg.base_channels, cfg.dropout)]
        if cfg.temporal_conv:
            layers.append(TemporalConv(out_ch, dropout=cfg.dropout))
        if attention:
            heads = out_ch // cfg.head_dim
            layers.append(SpatialTransformer(out_ch, heads, cfg.text_dim))
            if cfg.temporal_attention:
                layers.append(TemporalAttention(out_ch, heads))
        return nn.ModuleList(layers)

    def named_temporal_parameters(self):
        """(name, parameter) of every temporal layer, e.g. to train only those (AnimateDiff-style)."""
        for name, m in self.named_modules():
            if isinstance(m, (TemporalConv, TemporalAttention)):
                yield from ((f"{name}.{k}", p) for k, p in m.named_parameters())

    def forward(self, x_in: Tensor, c_noise: Tensor, cond=None, *, image_mode: bool = False) -> Tensor:
        cfg = self.config
        check_video(x_in, c_noise, cfg.in_channels)
        b, _, t, height, width = x_in.shape
        factor = 2 ** (len(cfg.channel_mult) - 1)
        if height % factor or width % factor:
            raise InputError(f"UNet3D with {len(cfg.channel_mult)} levels needs H, W divisible by {factor}, "
                             f"got {height}x{width}")
        emb = self.time_embed(c_noise)  # (B, 4*base)
        vector = vector_of(cond, b, cfg.vector_dim, c_noise)
        if vector is not None:
            emb = emb + self.vector_embed(vector)
        tokens, token_mask = tokens_of(cond, b, cfg.text_dim, x_in.dtype)
        if self.text_embed is not None and tokens is not None:
            emb = emb + self.text_embed(tokens, token_mask)
        ctx = _Context(emb.repeat_interleave(t, dim=0), tokens, token_mask, t, image_mode)

        x = rearrange(with_concat(x_in, cond, cfg.concat_channels), "b c t h w -> (b t) c h w")
        h = self.conv_in(x)
        skips = [h]
        for stage in self.down:
            h = self._run(stage, h, ctx)
            skips.append(h)
        h = self._run(self.mid, h, ctx)
        for stage in self.up:
            h = self._run(stage, torch.cat([h, skips.pop()], dim=1), ctx)
        out = self.conv_out(F.silu(self.norm_out(h)))
        return rearrange(out, "(b t) c h w -> b c t h w", t=t)

    def _run(self, stage: nn.ModuleList, h: Tensor, ctx: _Context) -> Tensor:
        if self.config.gradient_checkpointing and torch.is_grad_enabled():
            return checkpoint(_run_stage, stage, h, ctx, use_reentrant=False)
        return _run_stage(stage, h, ctx)
