"""Kernel Inception Distance: unbiased MMD^2 with a cubic polynomial kernel (Bińkowski et al. 2018).

    k(x, y) = (x . y / d + 1)^3
    MMD^2_u = sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (m (m - 1))
              - 2 sum_{i, j} k(x_i, y_j) / m^2

averaged over ``n_subsets`` random subsets of ``subset_size`` vectors drawn without replacement
from each set, as torch-fidelity and clean-fid do (their defaults: 100 subsets of 1000). The
estimate is unbiased, so it can be slightly negative when the two sets match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kinema.errors import InputError


@dataclass(frozen=True)
class KIDResult:
    mean: float  # mean MMD^2 over subsets (the reported KID)
    std: float  # standard deviation over subsets
    subset_size: int  # rows per subset
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


TORCH_FIDELITY_SEED = 2020  # torch-fidelity's default rng_seed


def kernel_distance(features_a, features_b, subset_size: int = 1000, n_subsets: int = 100,
                    seed: int = TORCH_FIDELITY_SEED) -> KIDResult:
    """KID between two (n, d) feature sets, with torch-fidelity's draws and refusal rule.

    Each subset draws ``subset_size`` rows without replacement from ``np.random.RandomState(seed)``,
    first from ``features_a`` (torch-fidelity's input1, the generated set), then from
    ``features_b``. A set smaller than ``subset_size`` is refused, as torch-fidelity and
    torchmetrics refuse it: KIDs at different subset sizes are not comparable.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise InputError(f"features must be (n, d) with the same d, got {a.shape} and {b.shape}")
    if subset_size < 2 or n_subsets < 1:
        raise InputError(f"subset_size={subset_size} must be >= 2 and n_subsets={n_subsets} >= 1")
    if min(a.shape[0], b.shape[0]) < subset_size:
        raise InputError(f"KID subset_size={subset_size} exceeds the number of feature vectors ({a.shape[0]} "
                         f"and {b.shape[0]}); torch-fidelity and torchmetrics refuse this too: pass "
                         f"subset_size <= {min(a.shape[0], b.shape[0])} (it is recorded in the protocol)")
    rng = np.random.RandomState(seed)
    values = np.zeros(n_subsets)
    for i in range(n_subsets):
        ia = rng.choice(a.shape[0], subset_size, replace=False)
        ib = rng.choice(b.shape[0], subset_size, replace=False)
        values[i] = mmd2_unbiased(a[ia], b[ib])
    return KIDResult(float(values.mean()), float(values.std()), subset_size, n_subsets)
