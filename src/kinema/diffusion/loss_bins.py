"""Per-noise-level loss logging: per-sample losses accumulated into sigma bins (STYLE habit 7).

A single mean loss hides where a model is bad; a loss per bin of ``log sigma`` (or flow ``t``) shows
whether the high- or low-noise end lags behind.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from kinema.diffusion.parameterization import Parameterization
from kinema.errors import ConfigError


class LossBins:
    """Accumulate ``(loss, sigma)`` pairs into bins with the given ascending ``edges``.

    ``log_scale=True`` bins ``ln sigma`` (VE); ``False`` bins sigma itself (flow ``t``). Values
    outside the edges fall into the first / last bin.
    """

    def __init__(self, edges: list[float], log_scale: bool = True) -> None:
        if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])):
            raise ConfigError(f"LossBins edges must be >= 2 strictly increasing values, got {edges!r}")
        self.edges, self.log_scale = [float(e) for e in edges], log_scale
        self.reset()

    @classmethod
    def for_param(cls, param: Parameterization, n_bins: int = 6) -> "LossBins":
        """Even bins over ``ln sigma`` in ``[sigma_min, sigma_max]`` (VE) or over ``t`` in [0, 1] (flow)."""
        if n_bins < 1:
            raise ConfigError(f"n_bins={n_bins!r} must be >= 1")
        if param.process.bounded:  # sigma in [0, sigma_max]: bins of sigma itself
            return cls([param.process.sigma_max * i / n_bins for i in range(n_bins + 1)], log_scale=False)
        lo, hi = math.log(param.sigma_min), math.log(param.sigma_max)
        return cls([lo + (hi - lo) * i / n_bins for i in range(n_bins + 1)], log_scale=True)

    def reset(self) -> None:
        n = len(self.edges) - 1
        self.sums, self.counts = [0.0] * n, [0] * n

    def bin_index(self, sigma: Tensor) -> Tensor:
        """Bin of each sigma ``(B,)`` -> long ``(B,)`` in ``[0, n_bins)``."""
        v = sigma.detach().double().cpu()
        v = v.clamp(min=1e-20).log() if self.log_scale else v
        inner = torch.tensor(self.edges[1:-1], dtype=torch.float64)
        return torch.bucketize(v, inner, right=True)

    def add(self, loss: Tensor, sigma: Tensor) -> None:
        """Add per-sample losses ``(B,)`` at their noise levels ``(B,)``."""
        if loss.shape != sigma.shape:
            raise ValueError(f"loss {tuple(loss.shape)} and sigma {tuple(sigma.shape)} must both be (B,)")
        for i, value in zip(self.bin_index(sigma).tolist(), loss.detach().double().cpu().tolist()):
            self.sums[i] += value
            self.counts[i] += 1

    update = add

    def means(self) -> dict[str, float]:
        """``{label: mean loss}`` per bin (NaN for an empty bin); labels name the bin's range."""
        name = "ln_sigma" if self.log_scale else "sigma"
        out = {}
        for i, (s, n) in enumerate(zip(self.sums, self.counts)):
            lo, hi = self.edges[i], self.edges[i + 1]
            out[f"loss_{name}[{lo:.2g},{hi:.2g})"] = s / n if n else float("nan")
        return out

    report = means
