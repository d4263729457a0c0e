"""Denoiser: a backbone wrapped by its parameterization, ``D(x, sigma, cond) -> x0_hat``.

Karras et al. 2022, Eq. 7: ``D(x; sigma) = c_skip x + c_out F(c_in x; c_noise)``. The backbone
never knows its parameterization (ARCHITECTURE rule 1); swapping eps/v/flow/EDM changes only the
``param`` given here.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from kinema.diffusion.parameterization import Parameterization


def _batch_sigma(sigma: Tensor | float, x: Tensor) -> Tensor:
    """Accept a scalar or ``(B,)`` sigma; return float32 ``(B,)`` on x's device."""
    sigma = torch.as_tensor(sigma, dtype=torch.float32, device=x.device)
    if sigma.dim() == 0:
        return sigma.expand(x.shape[0])
    if sigma.shape != (x.shape[0],):
        raise ValueError(f"sigma must be a scalar or of shape (B,) = ({x.shape[0]},), got {tuple(sigma.shape)}")
    return sigma.float()


class Denoiser(nn.Module):
    """``forward(x, sigma, cond, **kw) -> x0_hat``; ``raw=True`` returns the backbone output ``F``.

    Coefficients are computed in float32 and broadcast from ``(B,)`` over ``x`` ``(B, C, T, H, W)``.
    Keyword arguments (e.g. ``image_mode=True``) pass through to the backbone.
    """

    def __init__(self, backbone: nn.Module, param: Parameterization) -> None:
        super().__init__()
        self.backbone = backbone
        self.param = param

    @property
    def process(self) -> str:
        """The noise process of the wrapped model (a :class:`~kinema.diffusion.Process`), handed to the samplers."""
        return self.param.process

    def forward(self, x: Tensor, sigma: Tensor | float, cond: Any = None, *, raw: bool = False,
                **kw: Any) -> Tensor:
        sigma = _batch_sigma(sigma, x)
        c_skip, c_out, c_in, c_noise = self.param.precondition(sigma)  # each (B,) float32
        shape = (-1,) + (1,) * (x.dim() - 1)  # (B,) -> (B, 1, 1, 1, 1)
        x_in = (c_in.view(shape) * x.float()).to(x.dtype)
        out = self.backbone(x_in, c_noise, cond, **kw)
        if raw:
            return out
        x0_hat = c_skip.view(shape) * x.float() + c_out.view(shape) * out.float()
        return x0_hat.to(x.dtype)
