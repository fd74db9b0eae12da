"""The MLPs of the 2-D mode-collapse benchmarks.

After the toy networks of Metz et al. 2017 (Unrolled GANs) and Lin et al. 2018 (PacGAN):
G has 4 hidden layers of ``g_width`` units with ReLU and a *linear* output (the data are not
in [−1, 1]); D has 3 hidden layers of ``d_width`` units with LeakyReLU(0.2) and one logit.
Normalisation follows ``g_norm``/``d_norm`` so recipes keep their meaning.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganforge.models.layers import norm1d
from ganforge.models.mlp import LogitDiscriminator


def _mlp(sizes: list[int], norm: str, act: type[nn.Module], **kw) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), norm1d(norm, b), act(**kw)]
    return layers


class ToyGenerator(nn.Module):
    """z (B, in_dim) -> x (B, *out_shape), 4 ReLU hidden layers, linear output."""

    def __init__(self, in_dim: int, out_shape: tuple[int, ...], width: int, norm: str):
        super().__init__()
        self.out_shape = tuple(out_shape)
        body = _mlp([in_dim] + [width] * 4, norm, nn.ReLU)
        self.net = nn.Sequential(*body, nn.Linear(width, math.prod(self.out_shape)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.out_shape)


class FourierFeatures(nn.Module):
    """x ↦ [x, sin 2π xB, cos 2π xB] with a fixed random B ~ N(0, scale²), shape (in_dim, n).

    Random Fourier features (Tancik et al. 2020, arXiv:2006.10739): a ReLU MLP fed with them
    fits detail down to about 1/scale units of x, which it learns only slowly from x alone
    (spectral bias). B is a buffer, so it is saved with the model and never trained.
    """

    def __init__(self, in_dim: int, n: int, scale: float):
        super().__init__()
        self.register_buffer("B", torch.randn(in_dim, n) * (2 * math.pi * scale))
        self.out_dim = in_dim + 2 * n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = x @ self.B
        return torch.cat([x, p.sin(), p.cos()], dim=1)


class ToyDiscriminator(LogitDiscriminator):
    """x (B, *in_shape) -> logit (B,), 3 LeakyReLU(0.2) hidden layers; ``features`` = last.

    ``fourier`` > 0 puts :class:`FourierFeatures` (64 of them, that scale) before the MLP.
    """

    def __init__(self, in_dim: int, width: int, norm: str, fourier: float = 0.0):
        super().__init__()
        head: list[nn.Module] = [nn.Flatten()]
        if fourier > 0:
            head.append(FourierFeatures(in_dim, 64, fourier))
            in_dim = head[-1].out_dim
        self.body = nn.Sequential(
            *head, *_mlp([in_dim] + [width] * 3, norm, nn.LeakyReLU, negative_slope=0.2)
        )
        self.feature_dim = width
        self.head = nn.Linear(width, 1)


def build_toy_generator(cfg, in_dim: int, out_shape: tuple[int, ...]) -> nn.Module:
    return ToyGenerator(in_dim, out_shape, cfg.g_width, cfg.g_norm)


def build_toy_discriminator(cfg, in_shape: tuple[int, ...]) -> nn.Module:
    return ToyDiscriminator(math.prod(in_shape), cfg.d_width, cfg.d_norm)
