"""Diagonal Gaussian posterior q(z|x) = N(mean, exp(logvar)) of the KL autoencoder."""

from __future__ import annotations

import torch
from torch import Tensor


class DiagonalGaussian:
    """Built from the encoder output ``moments`` (N, 2C, h, w): mean and log-variance halves."""

    def __init__(self, moments: Tensor):
        self.mean, logvar = moments.chunk(2, dim=1)
        self.logvar = logvar.clamp(-30.0, 20.0)  # keeps exp() finite early in training
        self.std = torch.exp(0.5 * self.logvar)

    def sample(self, generator: torch.Generator | None = None) -> Tensor:
        """Reparameterised draw z = mean + std * eps (gradients flow to mean and std)."""
        eps = torch.randn(self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype)
        return self.mean + self.std * eps

    def mode(self) -> Tensor:
        return self.mean

    def kl(self) -> Tensor:
        """KL(q || N(0, I)) summed over latent elements, one value per item: (N,).

        KL = 0.5 * sum(mean^2 + var - 1 - logvar) (Kingma & Welling 2014, Appendix B).
        """
        return 0.5 * (self.mean.pow(2) + self.logvar.exp() - 1.0 - self.logvar).flatten(1).sum(1)
