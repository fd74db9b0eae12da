"""Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs").

KID is the unbiased estimator of the squared maximum mean discrepancy with the cubic polynomial
kernel k(x, y) = (x.y / d + 1)^3 (d the feature dimension):

    MMD^2_u = 1/(m(m-1)) sum_{i!=j} k(x_i, x_j) + 1/(n(n-1)) sum_{i!=j} k(y_i, y_j)
              - 2/(mn) sum_{i,j} k(x_i, y_j)

averaged over ``n_subsets`` random subsets of ``subset_size`` samples from each side (as the
paper and torch-fidelity do); we report the mean and the standard deviation over subsets.
Unlike FD it is unbiased, so it can be compared across sample sizes; it can be slightly negative.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ganforge.metrics.frechet import as_float64


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0):
    return (x @ y.T / x.shape[1] + coef0) ** degree


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between samples x (m, d) and y (n, d) under the cubic polynomial kernel."""
    m, n = x.shape[0], y.shape[0]
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2.0 * kxy.mean())


def kernel_distance(
    real: Any,
    fake: Any,
    subset_size: int = 1000,
    n_subsets: int = 100,
    seed: int = 0,
) -> tuple[float, float]:
    """KID (mean, std) over subsets; subsets shrink to the smaller set when it has fewer rows."""
    x, y = as_float64(real), as_float64(fake)
    m = min(subset_size, x.shape[0], y.shape[0])
    if m < 2:
        raise ValueError("KID needs at least 2 samples on each side")
    rng = np.random.default_rng(seed)
    values = np.array(
        [
            mmd2_unbiased(
                x[rng.choice(x.shape[0], m, replace=False)],
                y[rng.choice(y.shape[0], m, replace=False)],
            )
            for _ in range(n_subsets)
        ]
    )
    return float(values.mean()), float(values.std())
