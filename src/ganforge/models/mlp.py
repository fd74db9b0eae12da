"""The MLP GAN of Goodfellow et al. (2014), as in the notes' MNIST code (with correct BatchNorm)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ganforge.models.layers import norm1d


class MLPGenerator(nn.Module):
    """z (B, z_dim) -> x (B, *out_shape) in [-1, 1].

    Hidden sizes ``width, 2*width, 4*width`` (128, 256, 512 for width 128), LeakyReLU(0.2),
    normalisation after every hidden layer but the first, tanh output.
    """

    def __init__(
        self,
        in_dim: int,
        out_shape: tuple[int, ...],
        width: int = 128,
        norm: str = "batch",
        out_activation: str = "tanh",
    ):
        super().__init__()
        self.out_shape = tuple(out_shape)
        sizes = [in_dim, width, 2 * width, 4 * width]
        layers: list[nn.Module] = []
        for i in range(3):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i > 0:
                layers.append(norm1d(norm, sizes[i + 1]))
            layers.append(nn.LeakyReLU(0.2))
        layers.append(nn.Linear(sizes[-1], math.prod(self.out_shape)))
        if out_activation == "tanh":
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.out_shape)


class LogitDiscriminator(nn.Module):
    """A ``body`` giving features (B, feature_dim) and a linear ``head`` giving one logit (B,).

    Subclasses build ``body``, ``feature_dim`` and ``head``; ``features`` feeds auxiliary heads.
    """

    body: nn.Module
    head: nn.Module

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)


class MLPDiscriminator(LogitDiscriminator):
    """x (B, *in_shape) -> logit (B,): hidden ``2*width, width`` (512, 256), LeakyReLU(0.2).

    Returns logits (no sigmoid): the losses apply it in a numerically stable way.
    ``features(x)`` gives the last hidden layer for auxiliary heads.
    """

    def __init__(self, in_dim: int, width: int = 256, norm: str = "none"):
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_dim, 2 * width),
            norm1d(norm, 2 * width),
            nn.LeakyReLU(0.2),
            nn.Linear(2 * width, width),
            norm1d(norm, width),
            nn.LeakyReLU(0.2),
        )
        self.feature_dim = width
        self.head = nn.Linear(width, 1)
