"""MUSIQ, the Multi-scale Image Quality Transformer (Ke et al. 2021, ICCV), as VBench's imaging
quality runs it: pyiqa's PyTorch port (chaofengc/IQA-PyTorch ``pyiqa/archs/musiq_arch.py``) with the
SPAQ checkpoint ``musiq_spaq_ckpt-358bb6af.pth`` (weight id ``musiq-spaq``).

VBench (``vbench/imaging_quality.py``) builds ``MUSIQ(pretrained_model_path=...)`` with pyiqa's
defaults and sets ``model.training = False`` on the top module only (dropout is 0 everywhere, so
this equals eval mode), then scores one frame (1, 3, h, w) in [0, 1] at a time. The forward pass:

1. ``x -> (x - 0.5) * 2`` (the TF release's [-1, 1] input range);
2. multi-scale tokens (:mod:`~kinema.eval.backbones.musiq_patches`): bicubic rescales to longer
   side 224 and 384 plus the native resolution, 32 x 32 patches, hashed spatial positions on a
   10 x 10 grid, scale indices, padding masks;
3. every patch through a small ResNet stem: 7x7/2 StdConv (64) + GroupNorm + ReLU, 3x3/2 max pool
   (TF 'SAME' zero padding), one Bottleneck (64 -> 256); the 8 x 8 x 256 map is flattened
   channel-last (TF order) and projected to the token width 384 (:mod:`~kinema.eval.backbones.
   musiq_layers`);
4. tokens + hashed spatial embedding + scale embedding, a [CLS] token in front, 14 pre-norm
   transformer blocks (6 heads, MLP 1152) with padding masked, final LayerNorm;
5. a linear head on [CLS]. SPAQ/KonIQ heads give the score directly (about 0-100 for SPAQ); a
   10-bin AVA head is a softmax turned into a mean opinion score ``sum_i i * p_i``.

State-dict keys equal pyiqa's (and so the released ``.pth`` files'): ``conv_root``, ``gn_root``,
``block1.*``, ``embedding``, ``transformer_encoder.{posembed_input.position_emb,
scaleembed_input.scale_emb, cls, encoder_norm, transformer.encoderblock_{i}.*}``, ``head``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from kinema.errors import ConfigError, InputError
from kinema.eval.backbones.musiq_layers import (
    Bottleneck,
    StdConv,
    TransformerBlock,
    same_pad,
)
from kinema.eval.backbones.musiq_patches import Tokens, multiscale_patches

WEIGHT_ID = "musiq-spaq"  # pyiqa's musiq_spaq_ckpt-358bb6af.pth (chaofengc/IQA-PyTorch v0.1-weights)
STEM_WIDTH = 64  # ResNet stem width; the Bottleneck widens it 4x (fixed in every released model)


@dataclass(frozen=True)
class MusiqConfig:
    patch_size: int = 32  # P: pixels per patch side (a multiple of 4: the stem downsamples 4x)
    hidden_size: int = 384  # token width
    mlp_dim: int = 1152  # transformer MLP width
    num_heads: int = 6  # attention heads
    num_layers: int = 14  # transformer blocks
    num_scales: int = 3  # rows of the scale embedding
    spatial_pos_grid_size: int = 10  # G: hash grid side of the spatial embedding
    num_classes: int = 1  # 1: score head (SPAQ, KonIQ, PaQ-2-PiQ); 10: AVA distribution head
    longer_side_lengths: tuple[int, ...] = (224, 384)  # rescaled inputs' longer sides
    max_seq_len_from_original_res: int | None = -1  # native-resolution tokens: -1 all, None none

    def __post_init__(self):
        if self.patch_size < 4 or self.patch_size % 4:
            raise ConfigError(f"MUSIQ patch_size must be a positive multiple of 4, got {self.patch_size}")
        if self.hidden_size % self.num_heads:
            raise ConfigError(f"MUSIQ hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}")
        used = len(self.longer_side_lengths) + (self.max_seq_len_from_original_res is not None)
        if self.num_scales < used:
            raise ConfigError(f"MUSIQ num_scales={self.num_scales} is too small for {used} scales "
                              f"(longer_side_lengths={self.longer_side_lengths} + native resolution)")


MUSIQ_SPAQ = MusiqConfig()  # pyiqa MUSIQ() defaults, as VBench builds it


class HashSpatialEmbedding(nn.Module):
    """Learned G x G grid of spatial embeddings, looked up by hashed position (paper Sec. 3.2)."""

    def __init__(self, grid: int, dim: int):
        super().__init__()
        self.position_emb = nn.Parameter(torch.empty(1, grid * grid, dim).normal_(std=0.02))

    def forward(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        return x + self.position_emb[0][positions]  # (B, L, D)


class ScaleEmbedding(nn.Module):
    """Learned embedding of each token's scale index (paper Sec. 3.3)."""

    def __init__(self, num_scales: int, dim: int):
        super().__init__()
        self.scale_emb = nn.Parameter(torch.empty(num_scales, dim).normal_(std=0.02))

    def forward(self, x: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
        return x + self.scale_emb[scales]  # (B, L, D)


class TransformerEncoder(nn.Module):
    """Embedded tokens (B, L, D) -> normalised sequence (B, 1 + L, D) with [CLS] first."""

    def __init__(self, cfg: MusiqConfig):
        super().__init__()
        d = cfg.hidden_size
        self.posembed_input = HashSpatialEmbedding(cfg.spatial_pos_grid_size, d)
        self.scaleembed_input = ScaleEmbedding(cfg.num_scales, d)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.encoder_norm = nn.LayerNorm(d, eps=1e-6)
        self.transformer = nn.ModuleDict({f"encoderblock_{i}": TransformerBlock(d, cfg.mlp_dim, cfg.num_heads)
                                          for i in range(cfg.num_layers)})

    def forward(self, x: torch.Tensor, tokens: Tokens) -> torch.Tensor:
        x = self.scaleembed_input(self.posembed_input(x, tokens.spatial), tokens.scale)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)  # (B, 1 + L, D)
        mask = F.pad(tokens.mask, (1, 0), value=True)  # [CLS] is never padding
        for block in self.transformer.values():
            x = block(x, mask)
        return self.encoder_norm(x)


class MUSIQ(nn.Module):
    """``forward(x)``: images (B, 3, H, W) in [0, 1] -> (B,) quality scores (pyiqa returns (B, 1))."""

    def __init__(self, cfg: MusiqConfig = MUSIQ_SPAQ):
        super().__init__()
        self.cfg = cfg
        self.conv_root = StdConv(3, STEM_WIDTH, 7, 2)
        self.gn_root = nn.GroupNorm(32, STEM_WIDTH, eps=1e-6)
        self.block1 = Bottleneck(STEM_WIDTH, 4 * STEM_WIDTH)
        self.embedding = nn.Linear(4 * STEM_WIDTH * (cfg.patch_size // 4) ** 2, cfg.hidden_size)
        self.transformer_encoder = TransformerEncoder(cfg)
        head = nn.Linear(cfg.hidden_size, cfg.num_classes)
        self.head = head if cfg.num_classes == 1 else nn.Sequential(head, nn.Softmax(dim=-1))

    def tokens(self, x: torch.Tensor) -> Tokens:
        """Images (B, 3, H, W) in [0, 1] -> MUSIQ's multi-scale tokens of the [-1, 1] image."""
        cfg = self.cfg
        return multiscale_patches((x - 0.5) * 2, cfg.patch_size, cfg.spatial_pos_grid_size,
                                  cfg.longer_side_lengths, cfg.max_seq_len_from_original_res)

    def embed_patches(self, patches: torch.Tensor) -> torch.Tensor:
        """Flattened patches (B, L, 3 * P * P) -> token embeddings (B, L, D) through the ResNet stem."""
        b, n, _ = patches.shape
        p = self.cfg.patch_size
        y = F.relu(self.gn_root(self.conv_root(patches.reshape(b * n, 3, p, p))))  # (B*L, 64, P/2, P/2)
        y = self.block1(F.max_pool2d(same_pad(y, 3, 2), 3, 2))  # (B*L, 256, P/4, P/4)
        return self.embedding(y.permute(0, 2, 3, 1).reshape(b, n, -1))  # channel-last flatten, as TF

    def score(self, tokens: Tokens) -> torch.Tensor:
        """Tokens -> (B,) mean opinion scores."""
        encoded = self.transformer_encoder(self.embed_patches(tokens.patches), tokens)  # (B, 1 + L, D)
        q = self.head(encoded[:, 0])  # (B, C): a score, or an AVA distribution
        return (q * torch.arange(1, q.shape[-1] + 1, device=q.device, dtype=q.dtype)).sum(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x)
        return self.score(self.tokens(x))


def check_images(x) -> None:
    """InputError unless x is a floating tensor (B, 3, H, W) (MUSIQ's input is in [0, 1])."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim != 4 or x.shape[1] != 3:
        got = f"{x.dtype} {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise InputError(f"MUSIQ expects float images (B, 3, H, W) in [0, 1], got {got}")


def load_musiq_state_dict(model: MUSIQ, sd: dict[str, torch.Tensor], source: str = "state dict") -> None:
    """Load pyiqa's MUSIQ keys strictly (a DataParallel ``module.`` prefix is dropped, as pyiqa does)."""
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(sd)), sorted(set(sd) - set(own))
    resized = [f"{k} {tuple(sd[k].shape)} != {tuple(v.shape)}" for k, v in own.items()
               if k in sd and sd[k].shape != v.shape]
    if missing or unexpected or resized:
        raise InputError(f"{source} is not a MUSIQ state dict for {model.cfg}: {len(missing)} missing keys "
                         f"{missing[:5]}, {len(unexpected)} unexpected keys {unexpected[:5]}, "
                         f"{len(resized)} of other shapes {resized[:3]}")
    model.load_state_dict(sd, strict=True)


def load_musiq(path=None, device: str | torch.device = "cpu", config: MusiqConfig = MUSIQ_SPAQ) -> MUSIQ:
    """MUSIQ with the ``musiq-spaq`` weights (explicit path > environment > cache dir), in eval mode."""
    from kinema.eval.weights import load_state_dict, resolve_weights

    resolved = resolve_weights(WEIGHT_ID, path=path)
    model = MUSIQ(config)
    load_musiq_state_dict(model, load_state_dict(resolved), source=str(resolved))
    return model.to(device).eval()


class MusiqQuality:
    """VBench imaging quality's ``quality``: float frames (N, 3, h, w) in [0, 1], already shrunk by
    :func:`kinema.eval.vbench.preprocess.musiq_frames`, -> float32 (N,) MUSIQ-SPAQ scores (about
    0-100) on the CPU. VBench scores one frame at a time; ``batch_size > 1`` is faster and differs
    only by float rounding (~1e-6 relative)."""

    backbone_id = WEIGHT_ID

    def __init__(self, model: MUSIQ, batch_size: int = 1):
        self.model, self.batch_size = model.eval(), batch_size
        c = model.cfg
        sides = " and ".join(str(s) for s in sorted(c.longer_side_lengths))
        self.preprocessing = (f"float [0, 1] -> (x - 0.5) * 2; bicubic resize (align_corners=False, no antialias) "
                              f"to longer side {sides} (sides rounded) plus native resolution; {c.patch_size}x"
                              f"{c.patch_size} patches, TF-SAME zero padding; {c.spatial_pos_grid_size}x"
                              f"{c.spatial_pos_grid_size} hashed positions; padding tokens masked")

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x)
        device = next(self.model.parameters()).device
        out = [self.model(x[i:i + self.batch_size].to(device=device, dtype=torch.float32)).float().cpu()
               for i in range(0, len(x), self.batch_size)]
        return torch.cat(out)
