"""The layers of MUSIQ (Ke et al. 2021, "MUSIQ: Multi-scale Image Quality Transformer", ICCV), as
ported from the TensorFlow release to PyTorch by pyiqa (chaofengc/IQA-PyTorch ``musiq_arch.py``).

Two families, with the TensorFlow conventions the released checkpoints were trained under:

* the per-patch ResNet stem: :func:`same_pad` (TF ``padding='SAME'``: zero padding split with the
  odd pixel at the bottom / right), :class:`StdConv` (weight standardisation, Qiao et al. 2019,
  with *unbiased* std + 1e-5) and the post-activation :class:`Bottleneck` with GroupNorm(32);
* the transformer: :class:`MultiHeadAttention` (separate query / key / value projections; padded
  tokens are masked by *replacing* their logits with -1000, not -inf, so all-padding rows stay
  finite), :class:`Mlp` and the pre-norm :class:`TransformerBlock` (LayerNorm eps 1e-6, exact GELU).

Module and parameter names equal pyiqa's, so the released state dicts load without a key map.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

MASKED_LOGIT = -1e3  # the attention logit of a padded (query, key) pair


def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Zero-pad (B, C, H, W) as TensorFlow's 'SAME': output ceil(H / stride) rows, extra pixel bottom/right."""
    h, w = x.shape[-2:]
    pad_h = max((math.ceil(h / stride) - 1) * stride + kernel - h, 0)
    pad_w = max((math.ceil(w / stride) - 1) * stride + kernel - w, 0)
    return F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))


class StdConv(nn.Conv2d):
    """Convolution with standardised weights ``(W - mean) / (std + 1e-5)`` per output channel
    (mean and unbiased std over in-channels and taps) and TF 'SAME' padding; no bias in MUSIQ."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1):
        super().__init__(cin, cout, kernel, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight - self.weight.mean((1, 2, 3), keepdim=True)
        w = w / (w.std((1, 2, 3), keepdim=True) + 1e-5)
        return F.conv2d(same_pad(x, self.kernel_size[0], self.stride[0]), w, None, self.stride)


class Bottleneck(nn.Module):
    """ResNet bottleneck (1x1 -> 3x3 -> 1x1, width = in-channels) with GroupNorm(32, eps 1e-4) and a
    projected shortcut when the width or stride changes."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1, self.gn1 = StdConv(cin, cin, 1), nn.GroupNorm(32, cin, eps=1e-4)
        self.conv2, self.gn2 = StdConv(cin, cin, 3), nn.GroupNorm(32, cin, eps=1e-4)
        self.conv3, self.gn3 = StdConv(cin, cout, 1), nn.GroupNorm(32, cout, eps=1e-4)
        self.needs_projection = cin != cout or stride != 1
        if self.needs_projection:
            self.conv_proj = StdConv(cin, cout, 1, stride)
            self.gn_proj = nn.GroupNorm(32, cout, eps=1e-4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.gn_proj(self.conv_proj(x)) if self.needs_projection else x
        y = F.relu(self.gn1(self.conv1(x)))
        y = F.relu(self.gn2(self.conv2(y)))
        return F.relu(self.gn3(self.conv3(y)) + shortcut)


class MultiHeadAttention(nn.Module):
    """Self-attention whose logits are set to -1000 wherever the query or the key is padding."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.query, self.key, self.value = (nn.Linear(dim, dim) for _ in range(3))
        self.out = nn.Linear(dim, dim)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        return x.reshape(b, n, self.num_heads, c // self.num_heads).transpose(1, 2)  # (B, heads, N, c/heads)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (B, N, C), mask (B, N) bool (True = real token) -> (B, N, C)."""
        q, k, v = self._heads(self.query(x)), self._heads(self.key(x)), self._heads(self.value(x))
        logits = (q @ k.transpose(-2, -1)) * self.scale  # (B, heads, N, N)
        pair = mask[:, None, :, None] & mask[:, None, None, :]  # (B, 1, N, N)
        attn = logits.masked_fill(~pair, MASKED_LOGIT).softmax(dim=-1)
        return self.out((attn @ v).transpose(1, 2).flatten(2))  # (B, N, C)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class TransformerBlock(nn.Module):
    """Pre-norm block: ``x + attention(norm1(x))``, then ``x + mlp(norm2(x))``."""

    def __init__(self, dim: int, mlp_dim: int, num_heads: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attention = MultiHeadAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, mlp_dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x), mask)
        return x + self.mlp(self.norm2(x))
