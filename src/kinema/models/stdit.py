"""Spatio-temporal diffusion transformer (Wang et al. 2026, I2V survey Eq. 4-5; DiT, Open-Sora ST-DiT, Latte).

Latents are cut into 3-D patches (tokens ``(B, T', N, D)``); every block applies, with adaLN-Zero
modulation from the timestep + scalar-control embedding:
  * ``attention="factorized"``: spatial attention within each frame, then temporal attention
    across frames at each position (Eq. 16), whose output projection starts at zero;
  * ``attention="full"``: one 3-D attention over all T'*N tokens;
then cross-attention to text tokens (Eq. 13) and an MLP. ``causal_temporal`` lets a frame see only
itself and earlier frames (streaming, CausVid). Positions are 3-D rotary (or absolute sin-cos).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from einops import rearrange
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from kinema.config import check_choice, check_range
from kinema.errors import ConfigError, InputError
from kinema.models.inputs import check_video, tokens_of, vector_of, with_concat
from kinema.models.layers import (AdaLNModulation, Attention, Mlp, PatchEmbed3D, PooledTextEmbedder,
                                  TimestepEmbedder, VectorEmbedder,
                                  block_causal_mask, grid_positions, modulate, rope_angles, rope_axes_dims,
                                  sinusoidal_embedding, unpatchify)


@dataclass
class STDiTConfig:
    in_channels: int = 4  # noisy latent channels
    out_channels: int = 4  # raw output channels
    concat_channels: int = 0  # cond.concat channels; zero-initialised in the patch embedding
    vector_dim: int = 0  # cond.vector scalars; 0 = none
    text_dim: int = 0  # cond.tokens width; 0 = no cross-attention
    pooled_text: bool = False  # also add the pooled prompt to the timestep embedding (zero-initialised)
    patch_size: tuple[int, ...] = (1, 2, 2)  # (pt, ph, pw)
    hidden_size: int = 384
    depth: int = 12
    num_heads: int = 6
    mlp_ratio: float = 4.0
    attention: Literal["factorized", "full"] = "factorized"
    causal_temporal: bool = False  # frame i attends to frames <= i only
    rope: bool = True  # 3-D rotary positions; False = absolute sin-cos
    rope_theta: float = 10000.0
    gradient_checkpointing: bool = False

    def __post_init__(self):
        self.patch_size = tuple(self.patch_size)
        for key in ("in_channels", "out_channels", "hidden_size", "depth", "num_heads"):
            check_range(key, getattr(self, key), 1)
        for key in ("concat_channels", "vector_dim", "text_dim"):
            check_range(key, getattr(self, key), 0)
        check_range("mlp_ratio", self.mlp_ratio, 0.01)
        check_choice("attention", self.attention, ("factorized", "full"))
        if len(self.patch_size) != 3 or min(self.patch_size) < 1:
            raise ConfigError(f"patch_size={self.patch_size!r} must be three positive integers (pt, ph, pw)")
        if self.hidden_size % self.num_heads:
            raise ConfigError(f"hidden_size={self.hidden_size} must be divisible by num_heads={self.num_heads}")
        head_dim = self.hidden_size // self.num_heads
        if self.rope and (head_dim % 2 or head_dim < 6):
            raise ConfigError(f"rope needs an even head_dim >= 6; hidden_size/num_heads = {head_dim}")
        if not self.rope and self.hidden_size % 4:
            raise ConfigError(f"sin-cos positions need hidden_size divisible by 4, got {self.hidden_size}")

    @property
    def size_multiple(self) -> int:
        """What latent height and width must be a multiple of: whole patches."""
        return math.lcm(self.patch_size[1], self.patch_size[2])


@dataclass
class _Context:
    """Per-forward data shared by all blocks (positions depend on the token grid only)."""

    tokens: Tensor | None  # (B, L, D_text)
    token_mask: Tensor | None  # (B, L)
    image_mode: bool
    causal: bool
    rope_spatial: Tensor | None  # (N, hd/2)
    rope_temporal: Tensor | None  # (T', hd/2)
    rope_full: Tensor | None  # (T'*N, hd/2)
    causal_mask: Tensor | None  # (T'*N, T'*N) bool, full attention only
    pos_temporal: Tensor | None  # (T', D) absolute positions for the temporal branch (rope=False)


class STDiTBlock(nn.Module):
    """x (B, T', N, D), c (B, D) -> x: Eq. 4-5 with adaLN-Zero, [temporal attention], cross-attention."""

    def __init__(self, cfg: STDiTConfig):
        super().__init__()
        d, heads = cfg.hidden_size, cfg.num_heads
        self.norm1 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(d, heads)  # spatial (factorized) or 3-D (full)
        self.attn_temporal = Attention(d, heads, zero_out=True) if cfg.attention == "factorized" else None
        self.norm_cross = nn.LayerNorm(d, eps=1e-6) if cfg.text_dim else None
        self.cross_attn = Attention(d, heads, context_dim=cfg.text_dim) if cfg.text_dim else None
        self.norm2 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(d, cfg.mlp_ratio)
        self.adaLN_modulation = AdaLNModulation(d, 6)

    def forward(self, x: Tensor, c: Tensor, ctx: _Context) -> Tensor:
        b, t, n, d = x.shape
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c)
        gate_msa, gate_mlp = gate_msa[:, None, None], gate_mlp[:, None, None]  # (B, D) -> (B, 1, 1, D)
        h = modulate(self.norm1(x), shift_msa, scale_msa)
        if self.attn_temporal is None and not ctx.image_mode:  # full 3-D attention over T'*N tokens
            a = self.attn(h.reshape(b, t * n, d), rope=ctx.rope_full, mask=ctx.causal_mask)
        else:  # spatial attention: (B, T', N, D) -> (B*T', N, D), each frame alone
            a = self.attn(h.reshape(b * t, n, d), rope=ctx.rope_spatial)
        x = x + gate_msa * a.view(b, t, n, d)
        if self.attn_temporal is not None and not ctx.image_mode:
            h = modulate(self.norm1(x), shift_msa, scale_msa)
            if ctx.pos_temporal is not None:
                h = h + ctx.pos_temporal[:, None]
            h = rearrange(h, "b t n d -> (b n) t d")  # each position's sequence of frames (Eq. 16)
            a = self.attn_temporal(h, rope=ctx.rope_temporal, causal=ctx.causal)
            x = x + gate_msa * rearrange(a, "(b n) t d -> b t n d", b=b)
        if self.cross_attn is not None and ctx.tokens is not None:
            q = self.norm_cross(x).reshape(b, t * n, d)
            x = x + self.cross_attn(q, ctx.tokens, key_mask=ctx.token_mask).view(b, t, n, d)
        return x + gate_mlp * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))


class FinalLayer(nn.Module):
    """adaLN-modulated LayerNorm then a linear map to patch pixels; both zero-initialised (DiT)."""

    def __init__(self, d: int, out_dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.adaLN_modulation = AdaLNModulation(d, 2)
        self.linear = nn.Linear(d, out_dim)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        shift, scale = self.adaLN_modulation(c)
        return self.linear(modulate(self.norm(x), shift, scale))


class STDiT(nn.Module):
    """``forward(x_in (B,C,T,H,W), c_noise (B,), cond, *, image_mode=False) -> raw (B, C_out, T, H, W)``."""

    ADDABLE = ("text_embedder.",)  # zero-initialised branches a fine-tune may add to a trained model
    size_multiple = property(lambda self: self.config.size_multiple)  # latent H, W must be multiples of it

    def __init__(self, config: STDiTConfig):
        super().__init__()
        self.config = cfg = config
        d = cfg.hidden_size
        self.patch_embed = PatchEmbed3D(cfg.in_channels + cfg.concat_channels, d, cfg.patch_size)
        self.t_embedder = TimestepEmbedder(d)
        self.vector_embedder = VectorEmbedder(cfg.vector_dim, d) if cfg.vector_dim else None
        self.text_embedder = PooledTextEmbedder(cfg.text_dim, d) if cfg.pooled_text and cfg.text_dim else None
        self.blocks = nn.ModuleList(STDiTBlock(cfg) for _ in range(cfg.depth))
        self.final_layer = FinalLayer(d, cfg.patch_size[0] * cfg.patch_size[1] * cfg.patch_size[2] * cfg.out_channels)
        self.initialize_weights()

    def initialize_weights(self) -> None:
        """DiT's initialisation, then every new branch at zero (adaLN-Zero, temporal, new inputs)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        w = self.patch_embed.proj.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(w[:, self.config.in_channels:])  # concat channels (Eq. 12)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        zero = [self.final_layer.adaLN_modulation.linear, self.final_layer.linear]
        zero += [blk.adaLN_modulation.linear for blk in self.blocks]
        zero += [blk.attn_temporal.to_out for blk in self.blocks if blk.attn_temporal is not None]
        zero += [self.vector_embedder.mlp[-1]] if self.vector_embedder is not None else []
        zero += [self.text_embedder.mlp[-1]] if self.text_embedder is not None else []
        for layer in zero:
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def named_temporal_parameters(self):
        """(name, parameter) of the temporal attention branches (factorized mode), e.g. to train only those."""
        for i, blk in enumerate(self.blocks):
            if blk.attn_temporal is not None:
                yield from ((f"blocks.{i}.attn_temporal.{k}", p) for k, p in blk.attn_temporal.named_parameters())

    def forward(self, x_in: Tensor, c_noise: Tensor, cond=None, *, image_mode: bool = False) -> Tensor:
        cfg = self.config
        check_video(x_in, c_noise, cfg.in_channels)
        self._check_grid(x_in.shape[2:], image_mode)
        b = x_in.shape[0]
        x = self.patch_embed(with_concat(x_in, cond, cfg.concat_channels))  # (B, T', N, D)
        grid = tuple(s // p for s, p in zip(x_in.shape[2:], cfg.patch_size))  # (T', H', W')
        c = self.t_embedder(c_noise)
        vector = vector_of(cond, b, cfg.vector_dim, c_noise)
        if vector is not None:
            c = c + self.vector_embedder(vector)
        tokens, token_mask = tokens_of(cond, b, cfg.text_dim, x_in.dtype)
        if self.text_embedder is not None and tokens is not None:
            c = c + self.text_embedder(tokens, token_mask)
        ctx = self._context(grid, tokens, token_mask, image_mode, x)
        if not cfg.rope:
            x = x + self._sincos(grid, cfg.attention == "full" and not image_mode, x.device).to(x.dtype)
        for block in self.blocks:
            if cfg.gradient_checkpointing and torch.is_grad_enabled():
                x = checkpoint(block, x, c, ctx, use_reentrant=False)
            else:
                x = block(x, c, ctx)
        return unpatchify(self.final_layer(x, c), cfg.patch_size, grid)

    def _check_grid(self, thw: tuple[int, int, int], image_mode: bool) -> None:
        if any(s % p for s, p in zip(thw, self.config.patch_size)):
            raise InputError(f"(T, H, W)={tuple(thw)} must be divisible by patch_size={self.config.patch_size}")
        if image_mode and self.config.patch_size[0] != 1:
            raise InputError(f"image_mode treats frames independently and needs patch_size[0]=1, "
                             f"got {self.config.patch_size[0]}")

    def _context(self, grid, tokens, token_mask, image_mode, x: Tensor) -> _Context:
        cfg, device = self.config, x.device
        t, h, w = grid
        full = cfg.attention == "full" and not image_mode
        axes = rope_axes_dims(cfg.hidden_size // cfg.num_heads)

        def angles(*shape: int) -> Tensor | None:  # rotary angles of a (t, h, w) sub-grid, None if unused
            return rope_angles(grid_positions(*shape, device=device), axes, cfg.rope_theta) if cfg.rope else None

        causal = cfg.causal_temporal and not image_mode
        pos_t = None
        if not cfg.rope and cfg.attention == "factorized":
            pos_t = sinusoidal_embedding(torch.arange(t, device=device), cfg.hidden_size).to(x.dtype)
        return _Context(tokens=tokens, token_mask=token_mask, image_mode=image_mode, causal=causal,
                        rope_spatial=angles(1, h, w), rope_temporal=angles(t, 1, 1),
                        rope_full=angles(t, h, w) if full else None,
                        causal_mask=block_causal_mask(t, h * w, device) if causal and full else None,
                        pos_temporal=pos_t)

    def _sincos(self, grid: tuple[int, int, int], with_time: bool, device) -> Tensor:
        """Absolute positions (rope=False): rows | columns (N, D), plus frames -> (T', N, D) if with_time."""
        t, h, w = grid
        pos = grid_positions(1, h, w, device=device)  # (N, 3)
        half = self.config.hidden_size // 2
        out = torch.cat([sinusoidal_embedding(pos[:, 1], half), sinusoidal_embedding(pos[:, 2], half)], dim=-1)
        if with_time:
            out = out + sinusoidal_embedding(torch.arange(t, device=device), 2 * half)[:, None]
        return out
