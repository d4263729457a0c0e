"""The DINO Vision Transformer (Caron et al. 2021, "Emerging Properties in Self-Supervised Vision
Transformers"; Dosovitskiy et al. 2021 for the ViT itself), as VBench runs it for subject consistency.

A pre-norm transformer over 16x16 patches with a [CLS] token and learned absolute position
embeddings; the output is the final-LayerNorm [CLS] token (the DINO hub models have no head), so
ViT-B/16 gives (N, 768) features.

Details kept from facebookresearch/dino ``vision_transformer.py`` (the checkpoint expects them):

* LayerNorm eps 1e-6, qkv with bias, exact (erf) GELU, attention scale ``head_dim ** -0.5``;
* inputs whose patch grid differs from the 14x14 training grid get the 2-D position embeddings
  resized bicubically with ``scale_factor = (h0 + 0.1) / 14, (w0 + 0.1) / 14`` (the +0.1 guards
  against floor rounding; see dino issue #8), not to an explicit output size. VBench feeds frames
  resized to 224 on the short side without cropping, so non-square grids are the normal case.

State-dict keys equal those of ``dino_vitbase16_pretrain.pth`` (``cls_token``, ``pos_embed``,
``patch_embed.proj.*``, ``blocks.{i}.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}.*``,
``norm.*``); the same names as timm's ``VisionTransformer``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from kinema.errors import ConfigError, InputError

WEIGHT_ID = "dino-vitb16"  # dino_vitbase16_pretrain.pth (dl.fbaipublicfiles.com/dino/dino_vitbase16_pretrain/)


@dataclass(frozen=True)
class ViTConfig:
    patch_size: int = 16  # pixels per patch side
    embed_dim: int = 768  # token width
    depth: int = 12  # transformer blocks
    num_heads: int = 12  # attention heads
    mlp_ratio: float = 4.0  # MLP hidden width / embed_dim
    img_size: int = 224  # training resolution; sets the stored position-embedding grid
    ln_eps: float = 1e-6  # LayerNorm epsilon


VIT_PRESETS: dict[str, ViTConfig] = {
    "tiny": ViTConfig(embed_dim=192, num_heads=3),
    "small": ViTConfig(embed_dim=384, num_heads=6),
    "base": ViTConfig(),
}


class Attention(nn.Module):
    """Multi-head self-attention with one fused qkv projection."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # 3 x (B, heads, N, head_dim)
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)  # (B, heads, N, N)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(norm1(x))`` then ``x + mlp(norm2(x))``."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.embed_dim, eps=cfg.ln_eps)
        self.attn = Attention(cfg.embed_dim, cfg.num_heads)
        self.norm2 = nn.LayerNorm(cfg.embed_dim, eps=cfg.ln_eps)
        self.mlp = Mlp(cfg.embed_dim, int(cfg.embed_dim * cfg.mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    """(B, 3, H, W) -> (B, (H//p)*(W//p), D) by a stride-p convolution (remainder pixels dropped)."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.patch_size = cfg.patch_size
        self.proj = nn.Conv2d(3, cfg.embed_dim, kernel_size=cfg.patch_size, stride=cfg.patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class VisionTransformer(nn.Module):
    """DINO ViT; ``forward`` maps normalised images (B, 3, H, W) to [CLS] features (B, D)."""

    def __init__(self, cfg: ViTConfig = ViTConfig()):
        super().__init__()
        self.cfg = cfg
        grid = cfg.img_size // cfg.patch_size
        self.patch_embed = PatchEmbed(cfg)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + 1, cfg.embed_dim))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.embed_dim, eps=cfg.ln_eps)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def position_embedding(self, h: int, w: int) -> torch.Tensor:
        """(1, 1 + h0*w0, D) position embeddings for an (h, w) input, resized as DINO does."""
        n = self.pos_embed.shape[1] - 1
        h0, w0 = h // self.cfg.patch_size, w // self.cfg.patch_size
        if h0 * w0 == n and h == w:
            return self.pos_embed
        side = math.sqrt(n)
        grid = self.pos_embed[:, 1:].reshape(1, int(side), int(side), -1).permute(0, 3, 1, 2)  # (1, D, g, g)
        grid = F.interpolate(grid, scale_factor=((h0 + 0.1) / side, (w0 + 0.1) / side), mode="bicubic")
        if grid.shape[-2:] != (h0, w0):
            raise InputError(f"DINO position-embedding resize gave grid {tuple(grid.shape[-2:])}, "
                             f"expected {(h0, w0)} for a {h}x{w} input")
        grid = grid.permute(0, 2, 3, 1).reshape(1, h0 * w0, -1)  # (1, h0*w0, D)
        return torch.cat([self.pos_embed[:, :1], grid], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise InputError(f"ViT expects (B, 3, H, W) images, got shape {tuple(x.shape)}")
        h, w = x.shape[-2:]
        tokens = self.patch_embed(x)  # (B, h0*w0, D)
        tokens = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), tokens], dim=1)
        tokens = tokens + self.position_embedding(h, w)
        for blk in self.blocks:
            tokens = blk(tokens)
        return self.norm(tokens)[:, 0]  # (B, D) [CLS]


def dino_vit(size: str = "base", patch_size: int = 16) -> VisionTransformer:
    """An untrained DINO ViT of a preset ``size`` ("tiny", "small", "base") and patch size."""
    if size not in VIT_PRESETS:
        raise ConfigError(f"ViT size {size!r} unknown; choose one of {sorted(VIT_PRESETS)}")
    cfg = VIT_PRESETS[size]
    return VisionTransformer(ViTConfig(**{**cfg.__dict__, "patch_size": patch_size}))


def load_dino_vit(path=None, size: str = "base", patch_size: int = 16,
                  weight_id: str = WEIGHT_ID) -> VisionTransformer:
    """DINO ViT with weights from a local file (``resolve_weights(weight_id, path)``), in eval mode."""
    from kinema.eval.weights import load_state_dict, resolve_weights

    model = dino_vit(size, patch_size)
    model.load_state_dict(load_state_dict(resolve_weights(weight_id, path=path)), strict=True)
    return model.eval()
