"""MUSIQ's multi-scale patch representation (Ke et al. 2021, Sec. 3.1-3.3; google-research ``musiq/
model/preprocessing.py``, in the PyTorch form pyiqa runs: ``pyiqa/data/multiscale_trans_util.py``).

An image (B, 3, H, W) becomes one token sequence made of, in this order:

1. for each longer-side length L in ascending order (224, 384 for the released models): the image
   resized *bicubically* (``align_corners=False``, no antialias, so upsampling small frames too) to
   ``round(H * L / max(H, W)) x round(W * L / max(H, W))`` (Python's ``round``), cut into P x P
   patches (P = 32) after TF-'SAME' zero padding, then zero-padded with masked tokens up to exactly
   ``ceil(L / P) ** 2`` tokens (49 and 144);
2. the image at its own resolution, cut the same way, all of its patches kept (pyiqa's
   ``max_seq_len_from_original_res=-1``; a value >= 0 pads or cuts to that length, ``None`` drops
   this scale).

Each token carries: the flattened patch (channel-major, then rows, then columns: ``F.unfold``
order), its scale index (0, 1, ... in the order above), its hash-based spatial position (paper
Sec. 3.2: the count_h x count_w patch grid is mapped onto a G x G grid (G = 10) by nearest-neighbour
resampling of each axis, index ``row * G + col``) and a mask (False for padding tokens, which have
zero patches, position 0 and scale 0).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from kinema.eval.backbones.musiq_layers import same_pad


class Tokens(NamedTuple):
    patches: torch.Tensor  # (B, L, 3 * P * P) flattened patches
    spatial: torch.Tensor  # (B, L) int64 hashed spatial position in [0, G * G)
    scale: torch.Tensor  # (B, L) int64 scale index
    mask: torch.Tensor  # (B, L) bool, True for real patches


def scaled_size(h: int, w: int, longer_side: int) -> tuple[int, int]:
    """(H, W) resized so that the longer side is ``longer_side``, each side rounded with ``round``."""
    ratio = longer_side / max(h, w)
    return round(h * ratio), round(w * ratio)


def hashed_positions(grid: int, count_h: int, count_w: int) -> torch.Tensor:
    """(count_h * count_w,) int64 hash-based spatial indices, row-major over the patch grid."""
    axis = torch.arange(grid, dtype=torch.float32)[None, None]  # (1, 1, G)
    rows = F.interpolate(axis, size=count_h, mode="nearest")[0, 0].long()  # (count_h,) in [0, G)
    cols = F.interpolate(axis, size=count_w, mode="nearest")[0, 0].long()  # (count_w,)
    return (rows[:, None] * grid + cols[None, :]).reshape(-1)


def scale_tokens(image: torch.Tensor, patch: int, grid: int, scale_id: int) -> Tokens:
    """All P x P patches of one scale's image (B, 3, h, w), with positions, scale ids and masks."""
    b, _, h, w = image.shape
    patches = F.unfold(same_pad(image, patch, patch), patch, stride=patch).transpose(1, 2)  # (B, n, 3*P*P)
    spatial = hashed_positions(grid, math.ceil(h / patch), math.ceil(w / patch)).to(image.device)
    spatial = spatial.expand(b, -1)  # (B, n)
    return Tokens(patches, spatial, torch.full_like(spatial, scale_id), torch.ones_like(spatial, dtype=torch.bool))


def pad_or_cut(tokens: Tokens, length: int) -> Tokens:
    """Exactly ``length`` tokens: the first ``length`` ones, then zero tokens (mask False) if short."""
    extra = length - tokens.patches.shape[1]
    if extra <= 0:
        return Tokens(*(t[:, :length] for t in tokens))
    return Tokens(*(torch.cat([t, t.new_zeros((t.shape[0], extra, *t.shape[2:]))], dim=1) for t in tokens))


def multiscale_patches(x: torch.Tensor, patch: int = 32, grid: int = 10,
                       longer_side_lengths: tuple[int, ...] = (224, 384),
                       max_seq_len_from_original_res: int | None = -1) -> Tokens:
    """MUSIQ tokens of images (B, 3, H, W) on MUSIQ's input scale [-1, 1] (see the module docstring)."""
    _, _, h, w = x.shape
    parts = []
    for scale_id, side in enumerate(sorted(longer_side_lengths)):
        resized = F.interpolate(x, scaled_size(h, w, side), mode="bicubic", align_corners=False)
        parts.append(pad_or_cut(scale_tokens(resized, patch, grid, scale_id), math.ceil(side / patch) ** 2))
    if max_seq_len_from_original_res is not None:
        native = scale_tokens(x, patch, grid, len(longer_side_lengths))
        parts.append(native if max_seq_len_from_original_res < 0 else pad_or_cut(native, max_seq_len_from_original_res))
    return Tokens(*(torch.cat(field, dim=1) for field in zip(*parts)))
