"""Known-frame replacement: the known frames' latents are imposed on the denoiser's estimate.

Concatenating the known latents on channels (Wang et al. 2026 Eq. 12) asks the network to copy them; replacement
makes it exact. At every call the x0 estimate of each known frame is replaced by its clean latent,
weighted by the frame's mask strength m in [0, 1]:

    x0_hat <- m * z_known + (1 - m) * x0_hat

Every sampler then steers those frames onto z_known (the ODE/SDE step moves x toward x0_hat), and
the unknown frames are denoised around them, like inpainting along time. This is the "direct
latent replacement" of the first frame the I2V survey describes (Sec. IV-A1, HunyuanVideo-Avatar); Wan and
LTX-Video condition their first frames the same way. Strength < 1 keeps a soft hint.
"""

from __future__ import annotations

from typing import Any, Callable

from torch import Tensor


class KnownFrameReplacement:
    """Wrap ``denoise(x, sigma, cond, **kw) -> x0_hat`` so known frames come out as given."""

    def __init__(self, denoise: Callable[..., Tensor], known: Tensor, mask: Tensor):
        self.denoise = denoise  # samplers find the noise process through this attribute
        self.known = known  # (B, C, T, h, w) clean latents (zeros where unknown)
        self.mask = mask[:, None, :, None, None].to(known.dtype)  # (B, T) -> (B, 1, T, 1, 1)

    def __call__(self, x: Tensor, sigma: Tensor, cond: Any = None, **kw) -> Tensor:
        x0 = self.denoise(x, sigma, cond, **kw)
        m = self.mask.to(x0.device)
        return m * self.known.to(x0.device, x0.dtype) + (1 - m) * x0
