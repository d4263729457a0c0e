"""Per-frame U-Net spatial transformer (LDM): self-attention, text cross-attention (Wang et al. 2026 Eq. 13), MLP."""

from __future__ import annotations

from einops import rearrange
from torch import Tensor, nn

from kinema.models.layers.attention import Attention, Mlp
from kinema.models.layers.resnet import group_norm


class SpatialTransformer(nn.Module):
    """x (B*T, C, H, W) -> same; attention within each frame, zero-initialised output projection.

    Cross-attention runs on the whole clip's queries at once, ``(B, T*H*W, C)`` against ``(B, L, D_text)``,
    so text tokens are never copied per frame; it is skipped when no tokens are given.
    """

    def __init__(self, channels: int, num_heads: int, text_dim: int = 0):
        super().__init__()
        self.norm = group_norm(channels)
        self.proj_in = nn.Linear(channels, channels)
        self.norm1, self.attn1 = nn.LayerNorm(channels), Attention(channels, num_heads)
        self.norm2 = nn.LayerNorm(channels) if text_dim else None
        self.attn2 = Attention(channels, num_heads, context_dim=text_dim) if text_dim else None
        self.norm3, self.ff = nn.LayerNorm(channels), Mlp(channels)
        self.proj_out = nn.Linear(channels, channels)
        nn.init.zeros_(self.proj_out.weight)
        nn.init.zeros_(self.proj_out.bias)

    def forward(self, x: Tensor, num_frames: int, tokens: Tensor | None = None,
                token_mask: Tensor | None = None) -> Tensor:
        bt, c, height, width = x.shape
        h = self.proj_in(rearrange(self.norm(x), "n c h w -> n (h w) c"))
        h = h + self.attn1(self.norm1(h))
        if self.attn2 is not None and tokens is not None:
            clip = h.reshape(bt // num_frames, -1, c)  # (B*T, HW, C) -> (B, T*HW, C)
            h = h + self.attn2(self.norm2(clip), tokens, key_mask=token_mask).reshape(h.shape)
        h = h + self.ff(self.norm3(h))
        return x + rearrange(self.proj_out(h), "n (h w) c -> n c h w", h=height, w=width)
