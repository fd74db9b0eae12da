"""SRResNet generator and SRGAN discriminator (Ledig et al. 2017, "Photo-Realistic Single Image
Super-Resolution Using a Generative Adversarial Network", arXiv:1609.04802, figure 4).

Generator, for an upscaling factor r = 2^m:

    h0 = PReLU(conv9x9(x))                                  (w channels)
    h  = h0 + BN(conv3x3(R_B(...R_1(h0))))                   (B residual blocks, global skip)
    R_i(h) = h + BN(conv3x3(PReLU(BN(conv3x3(h)))))
    m times: h = PReLU(PixelShuffle_2(conv3x3(h)))           (w -> 4w channels -> w at 2x side)
    y  = tanh(conv9x9(h))                                    (C channels, r times the side)

The sub-pixel convolution (Shi et al. 2016, arXiv:1609.05158) is ``nn.PixelShuffle(2)``: output
channel c at position (2i + a, 2j + b) is input channel 4c + 2a + b at (i, j).

Discriminator: conv3x3-LReLU, then pairs (conv3x3 stride 1, conv3x3 stride 2) with BN and
LeakyReLU(0.2) at widths w, 2w, 4w, 8w, a dense layer of 16w units (the paper's 1024 for
w = 64), LeakyReLU and one logit. The paper has four stride-2 convolutions for 96 px inputs
(96 -> 6); here there are as many as halve the side down to 4-7 px, at most four (28 px: two).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.models.layers import norm2d


class _Residual(nn.Module):
    """h + BN(conv(PReLU(BN(conv(h)))))."""

    def __init__(self, w: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(w, w, 3, padding=1),
            norm2d(norm, w),
            nn.PReLU(w),
            nn.Conv2d(w, w, 3, padding=1),
            norm2d(norm, w),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.body(h)


def upscale_steps(scale: int) -> int:
    """m with 2^m = ``scale`` (2 or 4 here; the paper uses 4)."""
    if scale not in (2, 4, 8):
        raise ConfigError(f"bad upscaling factor {scale}: SRResNet upscales by 2, 4 or 8")
    return int(math.log2(scale))


class SRResNet(nn.Module):
    """(N, C, s, s) in [-1, 1] -> (N, C, r s, r s) in [-1, 1]; fully convolutional, so any
    input side works."""

    def __init__(self, channels: int, scale: int, width: int = 64, blocks: int = 16, norm="batch"):
        super().__init__()
        w = width
        self.scale = scale
        self.head = nn.Sequential(nn.Conv2d(channels, w, 9, padding=4), nn.PReLU(w))
        self.trunk = nn.Sequential(
            *[_Residual(w, norm) for _ in range(blocks)],
            nn.Conv2d(w, w, 3, padding=1),
            norm2d(norm, w),
        )
        up: list[nn.Module] = []
        for _ in range(upscale_steps(scale)):
            up += [nn.Conv2d(w, 4 * w, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(w)]
        self.up = nn.Sequential(*up)
        self.tail = nn.Conv2d(w, channels, 9, padding=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h0 = self.head(x)
        h = h0 + self.trunk(h0)
        return torch.tanh(self.tail(self.up(h)))


def stride_convs_for(size: int) -> int:
    """Stride-2 convolutions that bring a ``size`` px input to 4-7 px, at most four (the
    paper's count for 96 px)."""
    n = 0
    while size > 7 and n < 4:
        size, n = (size + 1) // 2, n + 1
    return n


class SRDiscriminator(nn.Module):
    """(N, C, S, S) -> (N,) logits; ``norm`` is BN in the paper, none for a WGAN-GP critic."""

    def __init__(self, channels: int, size: int, width: int = 64, norm: str = "batch"):
        super().__init__()
        w, act = width, (lambda: nn.LeakyReLU(0.2))
        layers: list[nn.Module] = [nn.Conv2d(channels, w, 3, padding=1), act()]
        cin, side = w, size
        for i in range(max(1, stride_convs_for(size))):
            cout = w * 2 ** min(i, 3)
            if i > 0:  # the paper's stride-1 conv that doubles the width
                layers += [nn.Conv2d(cin, cout, 3, padding=1), norm2d(norm, cout), act()]
            layers += [nn.Conv2d(cout, cout, 3, 2, padding=1), norm2d(norm, cout), act()]
            cin, side = cout, (side + 1) // 2
        self.features_net = nn.Sequential(*layers)
        self.dense = nn.Sequential(nn.Flatten(), nn.Linear(cin * side * side, 16 * w), act())
        self.head = nn.Linear(16 * w, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dense(self.features_net(x))).flatten()
