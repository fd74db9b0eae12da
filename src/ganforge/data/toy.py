"""2-D Gaussian mixtures of the mode-collapse benchmarks, sampled fresh for every batch.

- ``ring8``: 8 Gaussians with means (cos 2πk/8, sin 2πk/8), k = 0..7, σ = 0.01
  (Metz et al. 2017, Unrolled GANs, arXiv:1611.02163; VEEGAN, Srivastava et al. 2017).
- ``grid25``: 25 Gaussians with means {−4, −2, 0, 2, 4}², σ = 0.05
  (VEEGAN, arXiv:1705.07761; PacGAN, Lin et al. 2018, arXiv:1712.04086).

Every component has weight 1/K and covariance σ² I: x = μ_c + σ ε, c ~ U{0..K−1}, ε ~ N(0, I).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ganforge.errors import DataError


@dataclass(frozen=True)
class ToyMixture:
    """An equal-weight isotropic Gaussian mixture in 2-D."""

    name: str
    means: torch.Tensor  # (K, 2) float64
    sigma: float

    @property
    def num_modes(self) -> int:
        return int(self.means.shape[0])

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n samples (n, 2) float32: a uniformly chosen mean plus σ·N(0, I)."""
        idx = torch.randint(0, self.num_modes, (n,), generator=generator)
        eps = torch.randn(n, 2, generator=generator, dtype=torch.float64)
        return (self.means[idx] + self.sigma * eps).float()

    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) of the mixture at points x (N, 2)."""
        d2 = torch.cdist(x.double(), self.means).pow(2)
        log_comp = -d2 / (2 * self.sigma**2) - math.log(2 * math.pi * self.sigma**2)
        return torch.logsumexp(log_comp, 1) - math.log(self.num_modes)


def ring8() -> ToyMixture:
    k = torch.arange(8, dtype=torch.float64)
    angles = 2 * math.pi * k / 8  # not a linspace over [0, 2π]: that would repeat a point
    return ToyMixture("ring8", torch.stack([angles.cos(), angles.sin()], 1), 0.01)


def grid25() -> ToyMixture:
    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0], dtype=torch.float64)
    gx, gy = torch.meshgrid(axis, axis, indexing="ij")
    return ToyMixture("grid25", torch.stack([gx.flatten(), gy.flatten()], 1), 0.05)


TOY_DATASETS = {"ring8": ring8, "grid25": grid25}


def get_toy(name: str) -> ToyMixture:
    if name not in TOY_DATASETS:
        raise DataError(f"unknown toy dataset {name!r}: choose from {', '.join(TOY_DATASETS)}")
    return TOY_DATASETS[name]()


class ToyBatches:
    """Endless (x float32 (B, 2), None) batches of fresh mixture samples from a seeded RNG."""

    def __init__(self, mixture: ToyMixture, batch_size: int, seed: int, device="cpu"):
        self.mixture, self.batch_size = mixture, batch_size
        self.device = torch.device(device)
        self.gen = torch.Generator().manual_seed(seed)

    def __iter__(self):
        return self

    def __next__(self) -> tuple[torch.Tensor, None]:
        return self.mixture.sample(self.batch_size, self.gen).to(self.device), None
