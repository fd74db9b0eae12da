"""Fréchet distance between Gaussians fitted to two feature sets (FID; Heusel et al. 2017).

    FD = ||mu_r - mu_f||^2 + tr(S_r) + tr(S_f) - 2 tr((S_r S_f)^{1/2})

Statistics are float64. The trace of the matrix square root is computed from eigenvalues:
with A = S_r^{1/2} (symmetric, from ``eigh``), S_r S_f is similar to A S_f A, which is symmetric
positive semi-definite, so tr((S_r S_f)^{1/2}) = sum_i sqrt(max(lambda_i(A S_f A), 0)). This is
exact, needs no complex arithmetic and agrees with ``scipy.linalg.sqrtm`` (checked in tests).
FD is biased upwards for small N; compare numbers only at the same N (>= 2,048 recommended).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

MIN_SAMPLES = 2048


@dataclass
class GaussianStats:
    """Mean (D,) and covariance (D, D) of a feature set, float64; ``n`` samples."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int


def as_float64(features: Any) -> np.ndarray:
    if isinstance(features, torch.Tensor):
        features = features.detach().cpu().double().numpy()
    arr = np.asarray(features, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {arr.shape}")
    return arr


def feature_stats(features: Any) -> GaussianStats:
    """Mean and unbiased covariance (ddof=1) of (N, D) features in float64."""
    x = as_float64(features)
    if x.shape[0] < 2:
        raise ValueError("need at least 2 feature vectors for a covariance")
    return GaussianStats(x.mean(0), np.cov(x, rowvar=False), x.shape[0])


def _stats(x: Any) -> GaussianStats:
    if isinstance(x, GaussianStats):
        return x
    if isinstance(x, tuple) and len(x) == 2:
        mu, sigma = (np.asarray(v, dtype=np.float64) for v in x)
        return GaussianStats(mu, sigma, 0)
    return feature_stats(x)


def _sqrt_psd(sigma: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((sigma + sigma.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(
    real: GaussianStats | tuple | Any,
    fake: GaussianStats | tuple | Any,
) -> float:
    """FD between two feature sets; each is (N, D) features, a :class:`GaussianStats` or a
    ``(mu, sigma)`` tuple. Symmetric in its arguments; 0 for identical statistics."""
    a, b = _stats(real), _stats(fake)
    if a.mu.shape != b.mu.shape:
        raise ValueError(f"feature dimensions differ: {a.mu.shape} vs {b.mu.shape}")
    diff = a.mu - b.mu
    root_a = _sqrt_psd(a.sigma)
    inner = root_a @ b.sigma @ root_a
    eig = np.linalg.eigvalsh((inner + inner.T) / 2)
    tr_covmean = np.sqrt(np.clip(eig, 0, None)).sum()
    fd = diff @ diff + np.trace(a.sigma) + np.trace(b.sigma) - 2.0 * tr_covmean
    return float(max(fd, 0.0))
