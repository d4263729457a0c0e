"""3-D patchify / unpatchify for video transformers (Wang et al. 2026, I2V survey Eq. 4: latent video -> tokens X_t)."""

from __future__ import annotations

from einops import rearrange
from torch import Tensor, nn


class PatchEmbed3D(nn.Module):
    """(B, C, T, H, W) -> tokens (B, T/pt, (H/ph)*(W/pw), D) by a conv with kernel = stride = patch.

    ``zero_from``: input channels from this index on start with zero weights (new condition
    channels concatenated to a trained model's input, I2V survey Eq. 12).
    """

    def __init__(self, in_channels: int, dim: int, patch_size: tuple[int, int, int], zero_from: int | None = None):
        super().__init__()
        self.patch_size = tuple(patch_size)
        self.proj = nn.Conv3d(in_channels, dim, kernel_size=self.patch_size, stride=self.patch_size)
        if zero_from is not None:
            nn.init.zeros_(self.proj.weight[:, zero_from:])

    def forward(self, x: Tensor) -> Tensor:
        return rearrange(self.proj(x), "b d t h w -> b t (h w) d")


def unpatchify(x: Tensor, patch_size: tuple[int, int, int], grid: tuple[int, int, int]) -> Tensor:
    """tokens (B, T', H'*W', pt*ph*pw*C) -> video (B, C, T'*pt, H'*ph, W'*pw)."""
    pt, ph, pw = patch_size
    return rearrange(x, "b t (h w) (pt ph pw c) -> b c (t pt) (h ph) (w pw)",
                     h=grid[1], w=grid[2], pt=pt, ph=ph, pw=pw)
