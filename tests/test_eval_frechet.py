"""Fréchet distance and KID against closed forms, an eigen-decomposition reference and O(n^2) loops."""

import numpy as np
import pytest
from scipy import linalg

from kinema.errors import InputError
from kinema.eval import FeatureStats, frechet_distance, frechet_distance_features, kernel_distance, mmd2_unbiased


def test_fd_diagonal_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    s1, s2 = rng.uniform(0.1, 3.0, 5), rng.uniform(0.1, 3.0, 5)
    expected = ((mu1 - mu2) ** 2).sum() + (s1 + s2 - 2 * np.sqrt(s1 * s2)).sum()
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, rel=1e-10)


def test_fd_one_dimensional():
    # N(1, 4) vs N(-2, 1): 9 + 4 + 1 - 2 * 2 = 10
    assert frechet_distance([1.0], [[4.0]], [-2.0], [[1.0]]) == pytest.approx(10.0, rel=1e-12)


def test_fd_matches_symmetric_square_root_form():
    """Tr sqrt(S1 S2) = Tr sqrt(S1^1/2 S2 S1^1/2), computed here by eigendecomposition."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(200, 6)), rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6)) + 0.5
    mu1, mu2, s1, s2 = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = linalg.eigh(s1)
    root1 = v @ np.diag(np.sqrt(w)) @ v.T
    inner = linalg.eigvalsh(root1 @ s2 @ root1)
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(inner, 0, None)).sum()
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance_features(a, b) == pytest.approx(expected, rel=1e-8)


def test_fd_of_duplicated_set_is_zero_and_symmetric():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(64, 8)), rng.normal(size=(64, 8)) * 2
    assert abs(frechet_distance_features(x, x.copy())) < 1e-8
    assert frechet_distance_features(x, y) == pytest.approx(frechet_distance_features(y, x), rel=1e-8)


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")
def test_fd_singular_covariance_is_finite():
    rng = np.random.default_rng(3)
    x = np.zeros((50, 4))
    x[:, :2] = rng.normal(size=(50, 2))  # two dimensions never vary: rank-2 covariance
    y = x + np.array([1.0, 0, 0, 0])
    assert frechet_distance_features(x, y) == pytest.approx(1.0, abs=1e-5)


def test_few_samples_warn_and_stats_round_trip(tmp_path):
    rng = np.random.default_rng(4)
    with pytest.warns(UserWarning, match="n=5 feature vectors for dim=8"):
        stats = FeatureStats.from_features(rng.normal(size=(5, 8)), meta={"backbone": "none"})
    path = tmp_path / "ref.npz"
    stats.save(path)
    back = FeatureStats.load(path)
    assert (back.n, back.dim, back.meta) == (5, 8, {"backbone": "none"})
    np.testing.assert_array_equal(back.mu, stats.mu)
    np.testing.assert_array_equal(back.sigma, stats.sigma)
    with pytest.raises(InputError):
        FeatureStats.load(tmp_path / "missing.npz")
    with pytest.raises(InputError, match="same feature dim"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def _mmd2_loops(x, y):
    """Direct O(m^2) unbiased MMD^2 with k(a, b) = (a.b/d + 1)^3."""
    m, d = x.shape
    k = lambda a, b: (a @ b / d + 1.0) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_mmd2_matches_loops():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(12, 4)), rng.normal(0.3, 1.2, size=(12, 4))
    assert mmd2_unbiased(x, y) == pytest.approx(_mmd2_loops(x, y), rel=1e-10)


def test_kid_subsets_match_loops_and_seed():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(20, 3)), rng.normal(0.5, 1.0, size=(15, 3))
    res = kernel_distance(x, y, subset_size=10, n_subsets=4, seed=7)
    draw = np.random.RandomState(7)  # torch-fidelity's draws: the first set's subset first
    vals = [_mmd2_loops(x[draw.choice(20, 10, replace=False)], y[draw.choice(15, 10, replace=False)])
            for _ in range(4)]
    assert (res.subset_size, res.n_subsets) == (10, 4)
    assert res.mean == pytest.approx(np.mean(vals), rel=1e-10)
    assert res.std == pytest.approx(np.std(vals), rel=1e-8)


def test_kid_near_zero_for_same_distribution_and_duplicated_set():
    rng = np.random.default_rng(8)
    x, x2 = rng.normal(size=(200, 16)), rng.normal(size=(200, 16))
    same = kernel_distance(x, x2, subset_size=100, n_subsets=20)
    shifted = kernel_distance(x, x2 + 0.5, subset_size=100, n_subsets=20)
    assert abs(same.mean) < 0.05 * shifted.mean
    # an exact duplicate is 0 up to the O(1/m) diagonal term of the unbiased estimator
    dup = kernel_distance(x, x.copy(), subset_size=200, n_subsets=1)
    k_diag = ((x * x).sum(1) / 16 + 1) ** 3
    assert abs(dup.mean) <= 2 * k_diag.mean() / 200
    with pytest.raises(InputError, match="subset_size=50 exceeds"):  # refused, as torch-fidelity does
        kernel_distance(x[:30], x[30:90], subset_size=50, n_subsets=2)


def test_fd_inf_removes_most_of_the_small_sample_bias():
    """Chong & Forsyth 2020: extrapolating FD to N -> inf recovers the analytic distance that raw FD
    overestimates with few samples (Gaussians, so the true value is known in closed form)."""
    from kinema.eval import frechet_distance_inf

    rng = np.random.default_rng(0)
    d = 16
    reference = rng.standard_normal((20000, d))
    mu, s = np.full(d, 0.25), np.full(d, 1.3)
    true_fd = float(mu @ mu + np.sum(1 + s ** 2 - 2 * s))  # N(0, I) vs N(mu, diag(s^2))
    errors_raw, errors_inf = [], []
    for k in range(4):
        x = mu + s * rng.standard_normal((160, d))
        errors_raw.append(frechet_distance_features(reference, x) - true_fd)
        errors_inf.append(frechet_distance_inf(reference, x, seed=k) - true_fd)
    assert np.mean(errors_raw) > 0.2 * true_fd  # raw FD: a large upward bias at N = 160
    assert abs(np.mean(errors_inf)) < 0.35 * np.mean(errors_raw)
    same = [frechet_distance_inf(reference, rng.standard_normal((160, d)), seed=k) for k in range(4)]
    assert abs(np.mean(same)) < 0.35 * np.mean(errors_raw)  # real vs real scores about 0
    assert frechet_distance_inf(reference, reference[:8]) is None  # too few samples to extrapolate


def test_fd_inf_groups_samples_of_one_condition():
    """Two samples per condition that share most of their variation (a benchmark's seeds of one clip)
    are not independent: a line in 1 / N_samples stays biased, one in 1 / N_conditions does not."""
    from kinema.eval import frechet_distance_inf

    rng = np.random.default_rng(0)
    d, n, seeds = 16, 160, 2
    reference = rng.standard_normal((20000, d))
    mu, s = np.full(d, 0.25), np.full(d, 1.3)
    true_fd = float(mu @ mu + np.sum(1 + s ** 2 - 2 * s))
    groups = np.repeat(np.arange(n), seeds)
    errors_flat, errors_grouped = [], []
    for k in range(16):  # 16 data sets: one set's own sampling error is as large as the effect
        shared, own = rng.standard_normal((n, 1, d)), rng.standard_normal((n, seeds, d))
        x = (mu + s * (np.sqrt(0.95) * shared + np.sqrt(0.05) * own)).reshape(n * seeds, d)  # still N(mu, s^2)
        errors_flat.append(frechet_distance_inf(reference, x, seed=k, draws=8) - true_fd)
        errors_grouped.append(frechet_distance_inf(reference, x, groups=groups, seed=k, draws=8) - true_fd)
    assert np.mean(errors_flat) > 0.05 * true_fd
    assert abs(np.mean(errors_grouped)) < 0.5 * np.mean(errors_flat)
    with pytest.raises(ValueError, match="one group id per sample"):
        frechet_distance_inf(reference, x, groups=groups[:10])
