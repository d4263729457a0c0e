"""Fréchet distance between Gaussians fitted to feature sets (FID / FVD; Wang et al. 2026, I2V survey Eq. 6).

    FD = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))

computed in float64 with ``scipy.linalg.sqrtm``. As in pytorch-fid (Heusel et al. 2017), when the
square root is not finite (near-singular product) it is recomputed from ``(S_r + eps I)(S_g + eps
I)``, and a complex result whose diagonal has a negligible imaginary part keeps its real part.
The backbone that produced the features decides the metric's name (FID, FVD, or a kinema
variant); this module is only the shared maths.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg

from kinema.errors import InputError

IMAG_TOL = 1e-3  # largest |imag| on the diagonal of sqrt(S_r S_g) accepted as rounding noise


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = 1e-6) -> float:
    """Fréchet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2): ``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2)``."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise InputError(f"mismatched statistics: mu {mu1.shape} vs {mu2.shape}, "
                         f"sigma {sigma1.shape} vs {sigma2.shape}; both sets need the same feature dim")
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        warnings.warn(f"Fréchet distance: sqrt(S1 S2) is singular; adding {eps} to the covariance "
                      "diagonals (as pytorch-fid)", RuntimeWarning, stacklevel=2)
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        worst = float(np.max(np.abs(np.diagonal(covmean).imag)))
        if worst > IMAG_TOL:
            raise ValueError(f"Fréchet distance: sqrt(S1 S2) has an imaginary diagonal part of {worst:.3g} "
                             f"(> {IMAG_TOL}); the covariances are too ill-conditioned (too few samples?)")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


@dataclass
class FeatureStats:
    """Mean and covariance of ``n`` feature vectors of dimension ``dim`` (a metric's reference)."""

    mu: np.ndarray  # (dim,) float64
    sigma: np.ndarray  # (dim, dim) float64, unbiased (ddof=1) covariance
    n: int  # number of feature vectors the estimate came from
    dim: int
    meta: dict = field(default_factory=dict)  # provenance: backbone id, preprocessing, data ...

    @classmethod
    def from_features(cls, features, meta: dict | None = None) -> "FeatureStats":
        """(n, dim) features -> stats; warns when n < dim (the covariance is then rank-deficient)."""
        x = np.asarray(features, np.float64)
        if x.ndim != 2 or x.shape[0] < 2:
            raise InputError(f"features must be (n >= 2, dim), got shape {x.shape}")
        n, dim = x.shape
        if n < dim:
            warnings.warn(f"only n={n} feature vectors for dim={dim}: the covariance is rank-deficient "
                          "and the Fréchet distance is strongly biased; use n >= dim (ideally >> dim) "
                          "and compare only results computed with the same n", UserWarning, stacklevel=2)
        return cls(x.mean(0), np.cov(x, rowvar=False).reshape(dim, dim), n, dim, dict(meta or {}))

    def save(self, path: str | os.PathLike) -> None:
        """Write a ``.npz`` (no pickle): mu, sigma, n, dim and the meta dict as JSON."""
        np.savez(path, mu=self.mu, sigma=self.sigma, n=np.int64(self.n), dim=np.int64(self.dim),
                 meta=np.array(json.dumps(self.meta, sort_keys=True)))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "FeatureStats":
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls(z["mu"].astype(np.float64), z["sigma"].astype(np.float64), int(z["n"]),
                           int(z["dim"]), json.loads(str(z["meta"])) if "meta" in z else {})
        except (OSError, KeyError, ValueError) as e:
            raise InputError(f"cannot read feature statistics from {os.fspath(path)!r}: {e}") from None


def frechet_distance_stats(a: FeatureStats, b: FeatureStats, eps: float = 1e-6) -> float:
    """Fréchet distance between two :class:`FeatureStats` (same feature dim required)."""
    if a.dim != b.dim:
        raise InputError(f"feature dims differ: {a.dim} vs {b.dim}; stats come from different backbones")
    return frechet_distance(a.mu, a.sigma, b.mu, b.sigma, eps)


def frechet_distance_features(features_a, features_b, eps: float = 1e-6) -> float:
    """Fréchet distance between the Gaussians fitted to two (n, dim) feature sets."""
    return frechet_distance_stats(FeatureStats.from_features(features_a),
                                  FeatureStats.from_features(features_b), eps)
