"""Mode-coverage metrics of the toy benchmarks, as VEEGAN and PacGAN define them.

Srivastava et al. 2017 (VEEGAN, arXiv:1705.07761), Lin et al. 2018 (PacGAN, arXiv:1712.04086):
on N generated samples (2,500 by convention),

- a sample is *high quality* when it lies within 3σ of its nearest mode mean;
- a mode is *captured* when it is the nearest mode of at least one high-quality sample;
- reverse KL = KL(q ‖ u) = Σ_k q_k log(q_k K), with q the histogram of nearest modes over the
  high-quality samples and u uniform over the K modes: 0 when every mode gets the same share,
  log K when all high-quality samples sit on one mode. With no high-quality sample at all the
  histogram is undefined; we report the worst case log K.
"""

from __future__ import annotations

import math

import torch

NUM_SAMPLES = 2500


def mode_metrics(samples: torch.Tensor, means: torch.Tensor, sigma: float) -> dict[str, float]:
    """{"modes", "high_quality" (fraction 0–1), "reverse_kl"} of samples (N, 2)."""
    x = samples.detach().double().reshape(-1, means.shape[1])
    dist = torch.cdist(x, means.double())
    nearest_d, nearest = dist.min(1)
    hq = nearest_d <= 3 * sigma
    k = means.shape[0]
    counts = torch.bincount(nearest[hq], minlength=k).double()
    n_hq = int(hq.sum())
    if n_hq == 0:
        return {"modes": 0.0, "high_quality": 0.0, "reverse_kl": math.log(k)}
    q = counts / n_hq
    nz = q > 0
    rkl = float((q[nz] * (q[nz] * k).log()).sum())
    return {
        "modes": float((counts > 0).sum()),
        "high_quality": n_hq / x.shape[0],
        "reverse_kl": max(rkl, 0.0),
    }


def mean_se(values: list[float]) -> dict[str, float]:
    """Mean and standard error (sample std with ddof=1 over sqrt(K); 0 for one value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return {"mean": mean, "se": 0.0}
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return {"mean": mean, "se": math.sqrt(var / n)}
