"""The denoising loss, per sample (Wang et al. 2026, I2V survey Eq. 2, generalised to every parameterization).

One step: draw ``sigma ~ p(sigma)`` and ``eps ~ N(0, I)``, noise ``x = alpha x0 + sigma eps``, run the
backbone through its preconditioning and compare its raw output ``F`` with the parameterization's
target. Because ``x0_hat - x0 = c_out (F - target)``, a loss weight ``lambda(sigma)`` on the
x0-space error is the raw-space weight ``lambda c_out^2``:

* ``native``: raw-target MSE (eps-, v-, x0-, flow- or EDM-loss as trained by its paper),
  i.e. ``lambda = 1 / c_out^2``. For EDM this *is* Karras et al.'s ``lambda(sigma)``.
* ``min_snr``: Min-SNR-gamma (Hang et al. 2023, "Efficient Diffusion Training via Min-SNR
  Weighting Strategy"): ``lambda = min(SNR, gamma)``; in raw space ``min(SNR, g)/SNR`` for eps,
  ``min(SNR, g)/(SNR + 1)`` for v, ``min(SNR, g)`` for x0.
* ``edm``: ``lambda = (sigma^2 + sd^2) / (sigma sd)^2`` (Karras et al. 2022, Table 1), VE only.
* ``uniform``: ``lambda = 1`` (plain x0-space MSE).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from kinema.diffusion.parameterization import Parameterization
from kinema.diffusion.process import VE, randn
from kinema.errors import ConfigError

WEIGHTINGS: tuple[str, ...] = ("native", "min_snr", "edm", "uniform")


def x0_loss_weight(param: Parameterization, sigma: Tensor, weighting: str = "native",
                   min_snr_gamma: float = 5.0, sigma_data: float = 0.5) -> Tensor:
    """``lambda(sigma)`` ``(B,)`` on the x0-space squared error, float32."""
    s = sigma.float()
    if weighting == "native":
        _, c_out, _, _ = param.precondition(s)
        return 1.0 / c_out**2
    if weighting == "uniform":
        return torch.ones_like(s)
    if weighting == "min_snr":
        return param.snr(s).clamp(max=min_snr_gamma)
    if weighting == "edm":
        if param.process != VE:
            raise ConfigError(f"weighting 'edm' is defined for VE sigmas, not for {param.process!r} models")
        sd = getattr(param, "sigma_data", sigma_data)
        return (s**2 + sd**2) / (s * sd) ** 2
    raise ConfigError(f"loss weighting={weighting!r} is not one of {list(WEIGHTINGS)}")


def top_weight_ratio(param: Parameterization, weighting: str, min_snr_gamma: float = 5.0) -> float | None:
    """``lambda(sigma_max) / lambda(1)`` in x0 space; None where the process has no VE sigma_max.

    Samplers take their largest step at ``sigma_max``, guessing the clip's layout from ``x0_hat``
    there. A weighting that gives that level next to nothing (Min-SNR or eps-loss on a schedule
    with near-zero terminal SNR: ``lambda ~ SNR ~ 1e-9``) leaves the guess untrained (Lin et al.
    2024, "Common Diffusion Noise Schedules and Sample Steps Are Flawed").
    """
    if param.process != VE or not getattr(param, "sigma_max", None):
        return None
    s = torch.tensor([float(param.sigma_max), 1.0])
    w = x0_loss_weight(param, s, weighting, min_snr_gamma)
    return float(w[0] / w[1])


def raw_loss_weight(param: Parameterization, sigma: Tensor, weighting: str = "native",
                    min_snr_gamma: float = 5.0, sigma_data: float = 0.5) -> Tensor:
    """The same weighting on the raw-output squared error ``|F - target|^2``: ``lambda c_out^2``."""
    if weighting == "native":
        return torch.ones_like(sigma, dtype=torch.float32)
    _, c_out, _, _ = param.precondition(sigma.float())
    return x0_loss_weight(param, sigma, weighting, min_snr_gamma, sigma_data) * c_out**2


def masked_mean(err: Tensor, mask: Tensor | None) -> Tensor:
    """Mean over all but the batch dim of ``err`` ``(B, ...)``, weighted by ``mask`` (broadcastable)."""
    if mask is None:
        return err.flatten(1).mean(dim=1)
    try:
        m = torch.broadcast_to(mask.to(err.dtype), err.shape)
    except RuntimeError:
        raise ValueError(f"loss_mask of shape {tuple(mask.shape)} does not broadcast to {tuple(err.shape)}; "
                         "expected (B, 1, T, 1, 1) frame weights") from None
    return (err * m).flatten(1).sum(dim=1) / m.flatten(1).sum(dim=1).clamp(min=1e-8)


class DiffusionLoss:
    """``loss(denoiser, x0, cond, generator) -> (loss_per_sample (B,), sigma (B,))``.

    ``denoiser`` must be a :class:`~kinema.diffusion.Denoiser` (it is called with ``raw=True``
    to get the backbone output ``F``). ``loss_mask`` ``(B, 1, T, 1, 1)`` weights frames (e.g. 0 on
    known conditioning frames). ``sigma`` / ``eps`` may be given to fix the draw.
    """

    def __init__(self, param: Parameterization, density: Any, weighting: str = "native",
                 min_snr_gamma: float = 5.0) -> None:
        if min_snr_gamma <= 0:
            raise ConfigError(f"min_snr_gamma={min_snr_gamma!r} must be > 0")
        x0_loss_weight(param, torch.ones(1), weighting, min_snr_gamma)  # an unknown weighting, or edm off VE
        self.param, self.density = param, density
        self.weighting, self.min_snr_gamma = weighting, min_snr_gamma

    def __call__(self, denoiser, x0: Tensor, cond: Any = None, generator: torch.Generator | None = None,
                 loss_mask: Tensor | None = None, *, sigma: Tensor | None = None, eps: Tensor | None = None,
                 **kw: Any) -> tuple[Tensor, Tensor]:
        b = x0.shape[0]
        if sigma is None:
            if self.density is None:
                raise ValueError("DiffusionLoss has no density: pass sigma= (B,) or build it with get_density(...)")
            sigma = self.density.sample(b, generator, device=x0.device)
        if eps is None:
            eps = randn(x0.shape, generator, x0.device).to(x0.dtype)
        x = self.param.add_noise(x0, eps, sigma)
        target = self.param.training_target(x0, eps, sigma)
        out = denoiser(x, sigma, cond, raw=True, **kw)
        err = (out.float() - target.float()) ** 2  # (B, C, T, H, W)
        weight = raw_loss_weight(self.param, sigma, self.weighting, self.min_snr_gamma)  # (B,)
        return weight * masked_mean(err, loss_mask), sigma
