"""Point sampling for CoTracker2 (Karaev et al. 2023): bilinear look-ups in pixel coordinates and
the query grid.

CoTracker's coordinates are pixel indices with ``align_corners=True`` (0 is the centre of the first
pixel, ``size - 1`` the centre of the last), so a look-up is ``grid_sample`` after mapping
``c -> c * 2 / (size - 1) - 1``; outside points take the border value. The scale factors are
built as a float32 tensor from Python floats, as facebookresearch/co-tracker
(``cotracker/models/core/model_utils.py``) does, so kinema's look-ups round the same way.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bilinear_sample(field: torch.Tensor, coords: torch.Tensor, padding_mode: str = "border") -> torch.Tensor:
    """Sample field (B, C, H, W) at coords (B, h, w, 2) = (x, y) -> (B, C, h, w); or field
    (B, C, T, H, W) at coords (B, d, h, w, 3) = (t, x, y) -> (B, C, d, h, w). Pixel coordinates,
    align_corners=True."""
    sizes = field.shape[2:]
    if len(sizes) == 3:
        coords = coords[..., [1, 2, 0]]  # (t, x, y) -> (x, y, t): grid_sample's order for (T, H, W)
    scale = torch.tensor([2 / max(size - 1, 1) for size in reversed(sizes)], device=coords.device)
    return F.grid_sample(field, coords * scale - 1, align_corners=True, padding_mode=padding_mode)


def sample_features4d(field: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """field (B, C, H, W), coords (B, R, 2) as (x, y) -> (B, R, C)."""
    B = field.shape[0]
    feats = bilinear_sample(field, coords.unsqueeze(2))  # (B, C, R, 1)
    return feats.permute(0, 2, 1, 3).reshape(B, -1, feats.shape[1])


def sample_features5d(field: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """field (B, T, C, H, W), coords (B, R1, R2, 3) as (t, x, y) -> (B, R1, R2, C)."""
    B = field.shape[0]
    feats = bilinear_sample(field.permute(0, 2, 1, 3, 4), coords.unsqueeze(3))  # (B, C, R1, R2, 1)
    return feats.permute(0, 2, 3, 1, 4).reshape(B, feats.shape[2], feats.shape[3], feats.shape[1])


def points_on_a_grid(size: int, extent: tuple[int, int], device: str | torch.device = "cpu") -> torch.Tensor:
    """A size x size grid of (x, y) points over an (H, W) extent -> (1, size * size, 2), row-major.

    Both axes keep a margin of ``W / 64`` from the border (CoTracker's ``get_points_on_a_grid``
    uses the width's margin for the rows too); row i, column j is
    ``(m + (W - 2m) j / (size - 1), m + (H - 2m) i / (size - 1))``.
    """
    H, W = extent
    if size == 1:
        return torch.tensor([W / 2, H / 2], device=device)[None, None]
    centre_y, centre_x = H / 2, W / 2
    margin = W / 64
    ys = torch.linspace(margin - H / 2 + centre_y, H / 2 + centre_y - margin, size, device=device)
    xs = torch.linspace(margin - W / 2 + centre_x, W / 2 + centre_x - margin, size, device=device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")  # (size, size) each
    return torch.stack([grid_x, grid_y], dim=-1).reshape(1, -1, 2)
