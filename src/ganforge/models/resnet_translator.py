"""CycleGAN's ResNet generator (Zhu et al. 2017, arXiv:1703.10593, appendix 7.2; after Johnson
et al. 2016): c7s1-64, d128, d256, R256 x n, u128, u64, c7s1-3 with reflection padding and
instance norm; n = 6 residual blocks at 128 px, 9 at 256 px and above.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.models.layers import norm2d
from ganforge.models.unet import _init


class _Residual(nn.Module):
    def __init__(self, c: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(c, c, 3),
            norm2d(norm, c),
            nn.ReLU(),
            nn.ReflectionPad2d(1),
            nn.Conv2d(c, c, 3),
            norm2d(norm, c),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetTranslator(nn.Module):
    """(B, in_ch, S, S) -> (B, out_ch, S, S) in [-1, 1]; S must be a multiple of 4."""

    def __init__(
        self, in_ch: int, out_ch: int, width: int = 64, norm: str = "instance", blocks: int = 9
    ):
        super().__init__()
        w = width
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_ch, w, 7),
            norm2d(norm, w),
            nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, 2, 1),
            norm2d(norm, 2 * w),
            nn.ReLU(),
            nn.Conv2d(2 * w, 4 * w, 3, 2, 1),
            norm2d(norm, 4 * w),
            nn.ReLU(),
        ]
        layers += [_Residual(4 * w, norm) for _ in range(blocks)]
        layers += [
            nn.ConvTranspose2d(4 * w, 2 * w, 3, 2, 1, output_padding=1),
            norm2d(norm, 2 * w),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * w, w, 3, 2, 1, output_padding=1),
            norm2d(norm, w),
            nn.ReLU(),
            nn.ReflectionPad2d(3),
            nn.Conv2d(w, out_ch, 7),
            nn.Tanh(),
        ]
        self.net = nn.Sequential(*layers)
        self.apply(_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
