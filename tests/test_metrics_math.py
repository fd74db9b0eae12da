"""The metric formulas against direct computations on synthetic features (no extractor needed)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from ganforge.metrics.classifier import class_accuracy, classifier_score
from ganforge.metrics.frechet import feature_stats, frechet_distance
from ganforge.metrics.kid import kernel_distance, mmd2_unbiased
from ganforge.metrics.manifold import (
    density_coverage,
    kth_neighbour_radii,
    nearest_distances,
    precision_recall,
)


def _scipy_fd(x: np.ndarray, y: np.ndarray) -> float:
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_fd_matches_scipy_sqrtm_to_1e6_relative():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 32))
    y = rng.normal(size=(2500, 32)) @ rng.normal(scale=0.4, size=(32, 32)) + 0.3
    ours = frechet_distance(x, y)
    ref = _scipy_fd(x, y)
    assert ours == pytest.approx(ref, rel=1e-6)
    # also from float32 torch features, statistics or (mu, sigma) tuples
    st = feature_stats(torch.from_numpy(y).float())
    assert st.mu.dtype == np.float64 and st.sigma.dtype == np.float64
    assert frechet_distance(feature_stats(x), (st.mu, st.sigma)) == pytest.approx(
        frechet_distance(x, torch.from_numpy(y).float()), rel=1e-12
    )


def test_fd_is_zero_for_identical_and_symmetric():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 8))
    y = rng.normal(size=(500, 8)) * 2
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(x, y) == pytest.approx(frechet_distance(y, x), rel=1e-9)
    # known closed form: N(0, I) vs N(m, 4I) in d dims -> |m|^2 + d(1 + 4 - 2*2)
    a = (np.zeros(8), np.eye(8))
    b = (np.full(8, 0.5), 4 * np.eye(8))
    assert frechet_distance(a, b) == pytest.approx(8 * 0.25 + 8 * 1.0, rel=1e-12)


def test_fd_with_singular_covariance_is_finite():
    x = np.zeros((100, 4))
    x[:, 0] = np.arange(100)
    y = np.ones((100, 4))
    assert np.isfinite(frechet_distance(x, y))


def _direct_mmd2(x, y):
    d = x.shape[1]

    def k(a, b):
        return (a @ b / d + 1) ** 3

    m, n = len(x), len(y)
    sxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    syy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    sxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return sxx + syy - 2 * sxy


def test_kid_matches_direct_unbiased_mmd():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(40, 5)), rng.normal(size=(40, 5)) + 0.5
    assert mmd2_unbiased(x, y) == pytest.approx(_direct_mmd2(x, y), rel=1e-10)
    # one subset covering both full sets (sampling without replacement = a permutation)
    mean, std = kernel_distance(x, y, subset_size=40, n_subsets=3)
    assert mean == pytest.approx(_direct_mmd2(x, y), rel=1e-10) and std < 1e-12


def test_kid_near_zero_for_same_distribution_and_positive_for_shift():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(2000, 16)), rng.normal(size=(2000, 16))
    same, _ = kernel_distance(x, y, subset_size=500, n_subsets=20)
    shifted, _ = kernel_distance(x, y + 0.5, subset_size=500, n_subsets=20)
    assert abs(same) < 0.01 and shifted > 10 * max(abs(same), 1e-4)


def test_knn_radii_and_nearest_against_brute_force():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(50, 3)).astype(np.float32)
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    expected = np.sort(d, axis=1)[:, 3]  # column 0 is the point itself
    assert np.allclose(kth_neighbour_radii(x, 3).numpy(), expected, atol=1e-5)
    q = rng.normal(size=(7, 3)).astype(np.float32)
    dq = np.sqrt(((q[:, None] - x[None]) ** 2).sum(-1)).min(1)
    assert np.allclose(nearest_distances(q, x).numpy(), dq, atol=1e-5)


def test_precision_recall_roles_are_not_swapped():
    rng = np.random.default_rng(5)
    real = rng.normal(size=(600, 2))
    # fakes collapsed on a small part of the real support: high precision, low recall
    fake = rng.normal(scale=0.2, size=(600, 2))
    p, r = precision_recall(real, fake, k=3)
    assert p > 0.9 and r < 0.4
    # fakes far away: both zero
    p2, r2 = precision_recall(real, fake + 20, k=3)
    assert p2 == 0.0 and r2 == 0.0
    # same distribution: both high
    p3, r3 = precision_recall(real, rng.normal(size=(600, 2)), k=3)
    assert p3 > 0.8 and r3 > 0.8


def test_density_coverage():
    rng = np.random.default_rng(6)
    real = rng.normal(size=(800, 2))
    d, c = density_coverage(real, rng.normal(size=(800, 2)), k=5)
    assert 0.8 < d < 1.2 and c > 0.9  # same distribution: density ~ 1, coverage high
    d2, c2 = density_coverage(real, np.zeros((800, 2)), k=5)  # all fakes on one point
    assert c2 < 0.1 and d2 == pytest.approx(1.0)  # inside exactly the 5 balls around 0


def test_classifier_score_bounds_and_cas():
    k = 10
    confident = torch.full((1000, k), -30.0)
    confident[torch.arange(1000), torch.arange(1000) % k] = 30.0
    assert classifier_score(confident, splits=1)[0] == pytest.approx(10.0, rel=1e-6)
    # random (fixed-seed) splits of 100 are not exactly balanced: a little below 10
    assert 9.3 < classifier_score(confident, splits=10)[0] < 10.0
    one_class = torch.zeros(1000, k)
    one_class[:, 3] = 30.0
    assert classifier_score(one_class)[0] == pytest.approx(1.0, rel=1e-6)
    assert class_accuracy(confident, torch.arange(1000) % k) == 1.0
    assert class_accuracy(confident, (torch.arange(1000) + 1) % k) == 0.0


def test_fd_and_kid_agree_with_torchmetrics_on_the_same_features():
    """torchmetrics' FID/KID with a custom feature module (identity on our features)."""
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    class Identity(torch.nn.Module):
        num_features = 16

        def forward(self, x):
            return x

    rng = np.random.default_rng(7)
    x = rng.normal(size=(1200, 16))
    y = rng.normal(size=(1000, 16)) @ rng.normal(scale=0.5, size=(16, 16)) + 0.2
    tm = FrechetInceptionDistance(feature=Identity(), normalize=True)
    tm.update(torch.from_numpy(x).float(), real=True)
    tm.update(torch.from_numpy(y).float(), real=False)
    ours = frechet_distance(torch.from_numpy(x).float(), torch.from_numpy(y).float())
    assert ours == pytest.approx(float(tm.compute()), rel=1e-5)
    kid = KernelInceptionDistance(feature=Identity(), subset_size=1000, subsets=2, normalize=True)
    kid.update(torch.from_numpy(x[:1000]).double(), real=True)
    kid.update(torch.from_numpy(y).double(), real=False)
    mean, _ = kid.compute()
    assert mmd2_unbiased(x[:1000], y) == pytest.approx(float(mean), rel=1e-5)
