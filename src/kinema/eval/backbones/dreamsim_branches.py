"""The three ViT-B/16 branches of the DreamSim ensemble (Fu et al. 2023, "DreamSim: Learning New
Dimensions of Human Visual Similarity using Synthetic Data"), each in the DINO ViT layout of
:mod:`kinema.eval.backbones.vit`.

DreamSim stores its CLIP and OpenCLIP image towers already converted to DINO's parameter names
(ssundaram21/dreamsim ``feature_extraction/load_clip_as_dino.py``, ``load_open_clip_as_dino.py``),
so one transformer serves all three. What differs per branch:

============  ==================  =========  ==========  ===========  ==================================
branch        weights             LN eps     MLP act     ln_pre       feature
============  ==================  =========  ==========  ===========  ==================================
DINO B/16     dino_vitbase16_...  1e-6       GELU (erf)  none         last block's [CLS], *before* the
                                                                      final LayerNorm (DreamSim hooks
                                                                      block 11; "cls" feature)
CLIP B/16     clip_vitb16_...     1e-5       QuickGELU   ``pos_drop`` ``norm([CLS]) @ proj`` (512-d;
                                                         LayerNorm    "embedding" feature)
OpenCLIP B/16 open_clip_vitb16... 1e-5       GELU (erf)  ``pos_drop`` ``norm([CLS]) @ proj`` (512-d)
============  ==================  =========  ==========  ===========  ==================================

CLIP's ``ln_pre`` sits where DINO has its (identity) position dropout, hence the converted files
name it ``pos_drop.weight`` / ``pos_drop.bias``; the projection matrix is the file's ``proj``
entry, (768, 512). Each branch normalises its [0, 1] input itself: DINO with ImageNet mean/std,
CLIP and OpenCLIP with OpenAI's CLIP mean/std (DreamSim ``model.py`` ``_preprocess``).
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from kinema.eval.backbones.vit import VisionTransformer, ViTConfig

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
CLIP_LN_EPS = 1e-5  # OpenAI / OpenCLIP LayerNorm epsilon (DINO uses 1e-6)


class QuickGELU(nn.Module):
    """OpenAI CLIP's GELU approximation ``x * sigmoid(1.702 x)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class _Branch(VisionTransformer):
    """A ViT that normalises its own [0, 1] input with the branch's mean/std."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __init__(self, cfg: ViTConfig):
        super().__init__(cfg)
        self.register_buffer("_mean", torch.tensor(self.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("_std", torch.tensor(self.std).view(1, 3, 1, 1), persistent=False)

    def tokens(self, x01: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, 1 + h0*w0, D) tokens with [CLS] and position embeddings."""
        x = (x01 - self._mean) / self._std
        h, w = x.shape[-2:]
        t = self.patch_embed(x)  # (B, h0*w0, D)
        t = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), t], dim=1)
        return t + self.position_embedding(h, w)


class DinoBranch(_Branch):
    """DINO ViT-B/16; ``forward``: [0, 1] images (B, 3, H, W) -> last-block [CLS] (B, D), pre-LayerNorm.

    Keys equal ``dino_vitbase16_pretrain.pth`` (the torch.hub file DreamSim's ``dino_vitb16`` loads);
    ``norm.*`` is loaded but unused, as in DreamSim.
    """

    mean, std = IMAGENET_MEAN, IMAGENET_STD

    def forward(self, x01: torch.Tensor) -> torch.Tensor:
        t = self.tokens(x01)
        for blk in self.blocks:
            t = blk(t)
        return t[:, 0]  # (B, D): block 11's [CLS], before self.norm


class ClipBranch(_Branch):
    """CLIP / OpenCLIP image tower in DINO layout; ``forward``: [0, 1] images -> (B, proj_dim).

    ``ln_pre`` is stored as ``pos_drop`` and the projection as ``proj``, as in DreamSim's converted
    ``clip_vitb16_pretrain.pth.tar`` / ``open_clip_vitb16_pretrain.pth.tar`` (their ``state_dict``).
    """

    mean, std = CLIP_MEAN, CLIP_STD

    def __init__(self, cfg: ViTConfig, proj_dim: int = 512, quick_gelu: bool = True):
        super().__init__(replace(cfg, ln_eps=CLIP_LN_EPS))
        self.pos_drop = nn.LayerNorm(cfg.embed_dim, eps=CLIP_LN_EPS)  # CLIP's ln_pre
        self.proj = nn.Parameter(torch.empty(cfg.embed_dim, proj_dim))
        nn.init.normal_(self.proj, std=cfg.embed_dim ** -0.5)
        if quick_gelu:  # OpenAI CLIP; OpenCLIP's LAION ViT-B/16 uses exact GELU
            for blk in self.blocks:
                blk.mlp.act = QuickGELU()

    def forward(self, x01: torch.Tensor) -> torch.Tensor:
        t = self.pos_drop(self.tokens(x01))
        for blk in self.blocks:
            t = blk(t)
        return self.norm(t)[:, 0] @ self.proj  # (B, proj_dim)
