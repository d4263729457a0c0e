"""Kernel Inception Distance: unbiased MMD^2 with a cubic polynomial kernel (Bińkowski et al. 2018).

    k(x, y) = (x . y / d + 1)^3
    MMD^2_u = sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (m (m - 1))
              - 2 sum_{i, j} k(x_i, y_j) / m^2

averaged over ``n_subsets`` random subsets of ``subset_size`` vectors drawn without replacement
from each set, as torch-fidelity and clean-fid do (their defaults: 100 subsets of 1000). The
estimate is unbiased, so it can be slightly negative when the two sets match.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from kinema.errors import InputError


@dataclass(frozen=True)
class KIDResult:
    mean: float  # mean MMD^2 over subsets (the reported KID)
    std: float  # standard deviation over subsets
    subset_size: int  # effective subset size (clamped to the smaller set)
    n_subsets: int


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> np.ndarray:
    """(m, d), (k, d) -> (m, k) kernel matrix (x . y / d + coef0)^degree."""
    return (x @ y.T / x.shape[1] + coef0) ** degree


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between equal-size samples x, y (m, d) under the cubic kernel."""
    m = x.shape[0]
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    off_diag = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(off_diag - 2.0 * k_xy.sum() / (m * m))


def kernel_distance(features_a, features_b, subset_size: int = 1000, n_subsets: int = 100,
                    seed: int = 0) -> KIDResult:
    """KID between two (n, d) feature sets; subsets drawn with ``np.random.default_rng(seed)``."""
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise InputError(f"features must be (n, d) with the same d, got {a.shape} and {b.shape}")
    if subset_size < 2 or n_subsets < 1:
        raise InputError(f"subset_size={subset_size} must be >= 2 and n_subsets={n_subsets} >= 1")
    m = min(subset_size, a.shape[0], b.shape[0])
    if m < 2:
        raise InputError(f"KID needs at least 2 vectors per set, got {a.shape[0]} and {b.shape[0]}")
    if m < subset_size:
        warnings.warn(f"KID subset_size={subset_size} exceeds the smaller set; using {m} "
                      "(record it: KIDs with different subset sizes are not comparable)",
                      UserWarning, stacklevel=2)
    rng = np.random.default_rng(seed)
    values = np.array([mmd2_unbiased(a[rng.choice(a.shape[0], m, replace=False)],
                                     b[rng.choice(b.shape[0], m, replace=False)])
                       for _ in range(n_subsets)])
    return KIDResult(float(values.mean()), float(values.std()), m, n_subsets)
