"""k-nearest-neighbour manifold metrics in feature space.

Precision and recall (Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric for
Assessing Generative Models"): each set's manifold is the union of balls around its points with
radius = distance to the point's k-th nearest neighbour in the same set (k = 3).

    precision = share of FAKE samples inside the REAL manifold   (fidelity)
    recall    = share of REAL samples inside the FAKE manifold   (diversity)

Density and coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative
Models"), with the real k-NN balls only (k = 5 as the paper recommends):

    density  = 1/(k M) sum_fake sum_real 1[fake in B(real, NND_k(real))]   (can exceed 1)
    coverage = share of real samples whose ball contains at least one fake sample

Distances are Euclidean on float32 features, computed in chunks with ``torch.cdist``.
Nearest-neighbour distances are also the base of the memorisation check (see ``memorisation``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

CHUNK = 2048


def _tensor(x: Any) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu()
    return torch.as_tensor(np.asarray(x), dtype=torch.float32)


def kth_neighbour_radii(x: Any, k: int) -> torch.Tensor:
    """Distance of each row of x to its k-th nearest other row (self excluded)."""
    x = _tensor(x)
    if x.shape[0] <= k:
        raise ValueError(f"need more than k={k} samples for k-NN radii, got {x.shape[0]}")
    out = []
    for s in range(0, x.shape[0], CHUNK):
        d = torch.cdist(x[s : s + CHUNK], x)
        # the k+1 smallest include the point itself (distance 0)
        out.append(d.topk(k + 1, dim=1, largest=False).values[:, k])
    return torch.cat(out)


def nearest_distances(query: Any, ref: Any) -> torch.Tensor:
    """Distance of each query row to its nearest row of ``ref``."""
    q, r = _tensor(query), _tensor(ref)
    out = []
    for s in range(0, q.shape[0], CHUNK):
        best = torch.full((min(CHUNK, q.shape[0] - s),), float("inf"))
        for t in range(0, r.shape[0], 8 * CHUNK):
            d = torch.cdist(q[s : s + CHUNK], r[t : t + 8 * CHUNK])
            best = torch.minimum(best, d.min(1).values)
        out.append(best)
    return torch.cat(out) if out else torch.empty(0)


def _ball_counts(query: torch.Tensor, centers: torch.Tensor, radii: torch.Tensor):
    """For each query: how many balls contain it; for each center: whether any query is inside."""
    per_query = torch.zeros(query.shape[0], dtype=torch.long)
    per_center = torch.zeros(centers.shape[0], dtype=torch.bool)
    for s in range(0, query.shape[0], CHUNK):
        inside = torch.cdist(query[s : s + CHUNK], centers) <= radii[None, :]
        per_query[s : s + CHUNK] = inside.sum(1)
        per_center |= inside.any(0)
    return per_query, per_center


def precision_recall(real: Any, fake: Any, k: int = 3) -> tuple[float, float]:
    """Kynkäänniemi et al. (2019) precision and recall with k-NN radii."""
    r, f = _tensor(real), _tensor(fake)
    in_real, _ = _ball_counts(f, r, kth_neighbour_radii(r, k))
    in_fake, _ = _ball_counts(r, f, kth_neighbour_radii(f, k))
    return float((in_real > 0).float().mean()), float((in_fake > 0).float().mean())


def density_coverage(real: Any, fake: Any, k: int = 5) -> tuple[float, float]:
    """Naeem et al. (2020) density and coverage with the real k-NN balls."""
    r, f = _tensor(real), _tensor(fake)
    counts, covered = _ball_counts(f, r, kth_neighbour_radii(r, k))
    return float(counts.sum().item() / (k * f.shape[0])), float(covered.float().mean())
