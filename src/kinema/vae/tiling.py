"""Tiled decoding: decode overlapping latent tiles one at a time and blend them linearly.

Memory stays bounded by one tile of ``frame_batch`` frames (plus the output itself). Each tile
is weighted per axis by a trapezoid: zero over ``margin`` latent pixels at every cut (interior)
edge, where the tile's zero padding differs from the full frame's true neighbours, then a
linear ramp across the rest of the overlap, then one. Image borders get no margin. Weights
are normalised by their sum, so they form a partition of unity. When ``margin`` covers the
decoder's receptive radius, every pixel mixes only exact values and the result equals the full
decode up to float rounding.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from kinema.errors import ConfigError


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of length ``tile`` covering ``[0, size)`` with >= ``overlap`` overlap."""
    if size <= tile:
        return [0]
    return list(range(0, size - tile, tile - overlap)) + [size - tile]


def axis_weights(start: int, length: int, size: int, margin: float, ramp: float) -> Tensor:
    """1-D trapezoid weights (length,) of a tile at ``[start, start + length)`` in ``[0, size)``."""
    pos = torch.arange(length, dtype=torch.float32) + 0.5  # pixel centres
    w = torch.ones(length)
    if start > 0:  # cut on the left / top
        w = torch.minimum(w, ((pos - margin) / ramp).clamp(0.0, 1.0))
    if start + length < size:  # cut on the right / bottom
        w = torch.minimum(w, ((length - pos - margin) / ramp).clamp(0.0, 1.0))
    return w


def check_tiling(tile: int, overlap: int, margin: int) -> None:
    if tile < 1 or overlap < 0 or margin < 0:
        raise ConfigError(f"tile={tile}, overlap={overlap}, margin={margin} must be >= 1, >= 0, >= 0")
    if overlap >= tile:
        raise ConfigError(f"overlap={overlap} must be smaller than tile={tile}")
    if overlap <= 2 * margin:
        raise ConfigError(f"overlap={overlap} must exceed 2 * margin = {2 * margin} (a blend band is left between "
                          "the two discarded margins)")


def decode_tiled_frames(decode: Callable[[Tensor], Tensor], z: Tensor, factor: int, tile: int, overlap: int,
                        margin: int, frame_batch: int) -> Tensor:
    """Frames (N, C, h, w) -> pixels (N, C_out, h * factor, w * factor), tile by tile."""
    check_tiling(tile, overlap, margin)
    n, _, h, w = z.shape
    out, wsum = None, torch.zeros(h * factor, w * factor, device=z.device)
    ramp = float(overlap - 2 * margin) * factor
    for y in tile_starts(h, tile, overlap):
        th = min(tile, h)
        wy = axis_weights(y * factor, th * factor, h * factor, margin * factor, ramp).to(z.device)
        for x in tile_starts(w, tile, overlap):
            tw = min(tile, w)
            wx = axis_weights(x * factor, tw * factor, w * factor, margin * factor, ramp).to(z.device)
            weight = wy[:, None] * wx[None, :]  # (th*f, tw*f)
            ys, xs = slice(y * factor, (y + th) * factor), slice(x * factor, (x + tw) * factor)
            for i in range(0, n, frame_batch):
                pix = decode(z[i:i + frame_batch, :, y:y + th, x:x + tw])  # (n_i, C_out, th*f, tw*f)
                if out is None:
                    out = torch.zeros(n, pix.shape[1], h * factor, w * factor, device=z.device, dtype=pix.dtype)
                out[i:i + frame_batch, :, ys, xs] += pix * weight
            wsum[ys, xs] += weight
    return out / wsum
