"""ObjectSegmenter: a known frame's latent + the prompt -> the main object's mask, for motion plans.

The layout half of LVD's text -> layout -> video (Lian et al. 2023): the planner says how the main
object moves; this says which pixels are the object, so the plan moves only them
(:func:`kinema.conditioning.plan.composite_object`). A small fully-convolutional net on the VAE
latent (B, C, h, w), FiLM-modulated (Perez et al. 2018) by the prompt, so that "the red circle"
picks the red circle among several shapes. The prompt is attention-pooled (learned queries, as in
the planner), not averaged: a caption describes every object, and the main one is the one it
names first. Trained with the planner stage on kinema world's object masks: binary cross-entropy
against each latent pixel's coverage plus a soft Dice term (Milletari et al. 2016; objects cover a
few percent of the frame, and cross-entropy alone leaves them under-confident).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kinema.conditioning.pooling import attention_pool


class ObjectSegmenter(nn.Module):
    def __init__(self, latent_channels: int, text_dim: int, width: int = 64, depth: int = 4, heads: int = 8):
        super().__init__()
        self.pool_query = nn.Parameter(torch.randn(heads, text_dim // heads) * 0.02)
        self.pool_key = nn.Linear(text_dim, text_dim)
        self.inp = nn.Conv2d(latent_channels, width, 3, padding=1)
        # dilations grow the receptive field to the whole 16x16 latent of a 64x64 frame
        self.convs = nn.ModuleList(nn.Conv2d(width, width, 3, padding=d, dilation=d)
                                   for d in (1, 2, 4, 8)[:depth])
        self.norms = nn.ModuleList(nn.GroupNorm(8, width) for _ in range(depth))
        self.film = nn.Linear(text_dim, 2 * width * depth)
        nn.init.zeros_(self.film.weight)  # starts unmodulated: scale 1, shift 0
        nn.init.zeros_(self.film.bias)
        self.out = nn.Conv2d(width, 1, 1)

    def forward(self, latent: Tensor, tokens: Tensor, token_mask: Tensor) -> Tensor:
        """latent (B, C, h, w), tokens (B, L, D), token_mask (B, L) bool -> mask logits (B, h, w)."""
        film = self.film(self.pool(tokens, token_mask)).view(latent.shape[0], len(self.convs), 2, -1, 1, 1)
        x = self.inp(latent.float())
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = x + conv(F.gelu(norm(x) * (1 + film[:, i, 0]) + film[:, i, 1]))  # pre-norm residual
        return self.out(F.gelu(x))[:, 0]

    def pool(self, tokens: Tensor, token_mask: Tensor) -> Tensor:
        """(B, L, D) tokens -> (B, D): one learned query per head (:func:`attention_pool`)."""
        return attention_pool(self.pool_key(tokens.float()), self.pool_query, token_mask)

    @torch.no_grad()
    def mask(self, latent: Tensor, tokens: Tensor, token_mask: Tensor, threshold: float = 0.25,
             confident: float = 0.5) -> Tensor:
        """(B, h, w) object probability, zero where below ``threshold`` (faint pixels do not widen the mask
        when it is upsampled to the image).

        The prompt names an object, so a map whose peak stays below ``confident`` (a tiny object, whose
        latent pixels it only partly covers) is scaled so that its peak is 1: the most likely region is
        kept instead of an empty mask, which would leave the object in place.
        """
        p = self.forward(latent, tokens, token_mask).sigmoid()
        peak = p.amax(dim=(1, 2), keepdim=True)  # (B, 1, 1)
        p = torch.where(peak < confident, p / peak.clamp(min=1e-6), p)
        return p * (p >= threshold)

    def loss(self, latent: Tensor, tokens: Tensor, token_mask: Tensor, target: Tensor) -> Tensor:
        """BCE + soft Dice against ``target`` (B, H, W) object masks, area-resized to the latent."""
        logits = self.forward(latent, tokens, token_mask)
        soft = F.adaptive_avg_pool2d(target.float()[:, None], logits.shape[-2:])[:, 0]  # coverage per latent pixel
        p = logits.sigmoid()
        dice = 1.0 - (2.0 * (p * soft).sum((1, 2)) + 1.0) / (p.sum((1, 2)) + soft.sum((1, 2)) + 1.0)  # (B,)
        return F.binary_cross_entropy_with_logits(logits, soft) + dice.mean()
