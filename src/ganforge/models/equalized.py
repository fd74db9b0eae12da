"""Layers of the progressive and style-based generators (Karras et al. 2018, 2019).

- **Equalised learning rate**: weights are stored as N(0, 1) / ``lr_mul`` and multiplied at
  run time by ``c = lr_mul * gain / sqrt(fan_in)`` (He's constant), so every layer's updates
  under Adam have the same dynamic range (ProGAN, section 4.1). ``lr_mul`` < 1 also slows a
  layer's effective learning rate by that factor (StyleGAN's mapping network uses 0.01); the
  bias is stored / ``lr_mul`` and scaled back the same way.
- **Pixel-wise feature normalisation** b = a / sqrt(mean_c a^2 + 1e-8) (ProGAN, 4.2).
- **Minibatch standard deviation** (ProGAN, 3): the std of every feature over groups of
  ``group`` samples, averaged over features and pixels, appended as one more channel.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SQRT2 = math.sqrt(2.0)  # He's gain for leaky ReLU / ReLU layers


class EqualLinear(nn.Module):
    """y = x (w c)^T + b lr_mul with w ~ N(0, 1) / lr_mul and c = lr_mul gain / sqrt(in)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        gain: float = SQRT2,
        lr_mul: float = 1.0,
        bias_init: float = 0.0,
    ):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul))
        self.scale = lr_mul * gain / math.sqrt(in_features)
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class EqualConv2d(nn.Module):
    """Conv with w ~ N(0, 1) scaled at run time by gain / sqrt(in_channels k^2)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        padding: int = 0,
        gain: float = SQRT2,
        bias: bool = True,
    ):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = gain / math.sqrt(in_channels * kernel * kernel)
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class PixelNorm(nn.Module):
    """b_{x,y} = a_{x,y} / sqrt(mean over channels of a_{x,y}^2 + eps) (ProGAN eq. in 4.2)."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)


class MinibatchStdDev(nn.Module):
    """Append one channel: the std over a group of ``group`` samples of every feature,
    averaged over C, H and W, broadcast over the group's samples and pixels.

    The reference (Karras et al. 2018, official code) reshapes (N, C, H, W) to (G, N/G, C, H, W),
    so the groups are strided: samples i, i + N/G, i + 2N/G, ... form one group. ``group`` is
    reduced to the batch size when the batch is smaller, and must divide it.
    """

    def __init__(self, group: int = 4, eps: float = 1e-8):
        super().__init__()
        self.group = group
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group, n)
        if n % g:
            raise ValueError(f"minibatch stddev: batch {n} is not a multiple of group {g}")
        y = x.reshape(g, n // g, c, h, w).float()
        y = (y - y.mean(dim=0)).pow(2).mean(dim=0)  # variance over the group
        y = (y + self.eps).sqrt().mean(dim=(1, 2, 3))  # (n/g,)
        y = y.to(x.dtype).reshape(1, n // g, 1, 1, 1).expand(g, -1, 1, h, w).reshape(n, 1, h, w)
        return torch.cat([x, y], dim=1)
