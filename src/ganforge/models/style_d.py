"""StyleGAN2's residual discriminator at small scale (Karras et al. 2020, arXiv:1912.04958,
fig. 7c "resnet" D), pure PyTorch.

fromRGB (1x1) at the image size; per resolution level down to 8x8 a residual block
    out = (conv3x3 -> conv3x3 -> 2x down  +  2x down -> conv1x1) / sqrt(2);
then at 4x4 the minibatch standard deviation (group 4, one channel; Karras et al. 2018,
arXiv:1710.10196), a 3x3 conv, a fully connected layer and the linear output. Every layer has
equalised learning rate (:mod:`ganforge.models.equalized`), activations are leaky ReLU 0.2.
Downsampling is 2x2 average pooling (the reference blurs with a [1,3,3,1] FIR filter and
strides). Channels follow :func:`ganforge.models.style.level_channels` with ``width``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.models.equalized import EqualConv2d, EqualLinear, MinibatchStdDev
from ganforge.models.style import level_channels


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


class ResidualBlock(nn.Module):
    """(conv3x3, lrelu, conv3x3, lrelu, avgpool) + (avgpool, conv1x1), scaled by 1/sqrt 2."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv0 = EqualConv2d(cin, cin, 3, padding=1)
        self.conv1 = EqualConv2d(cin, cout, 3, padding=1)
        self.skip = EqualConv2d(cin, cout, 1, gain=1.0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.avg_pool2d(_lrelu(self.conv1(_lrelu(self.conv0(x)))), 2)
        return (y + self.skip(F.avg_pool2d(x, 2))) * (1 / math.sqrt(2))


class StyleDiscriminator(nn.Module):
    """D: (B, C, size, size) -> logits (B,), size a power of two >= 8."""

    def __init__(self, channels: int, size: int, width: int, mbstd_group: int = 4):
        super().__init__()
        levels = int(math.log2(size)) - 1
        ch = [level_channels(width, levels, j) for j in range(levels)]
        self.from_rgb = EqualConv2d(channels, ch[-1], 1)
        self.blocks = nn.Sequential(
            *(ResidualBlock(ch[j], ch[j - 1]) for j in range(levels - 1, 0, -1))
        )
        self.mbstd = MinibatchStdDev(mbstd_group)
        self.conv = EqualConv2d(ch[0] + 1, ch[0], 3, padding=1)
        self.fc = EqualLinear(ch[0] * 16, ch[0])
        self.out = EqualLinear(ch[0], 1, gain=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(_lrelu(self.from_rgb(x)))
        h = _lrelu(self.conv(self.mbstd(h)))
        return self.out(_lrelu(self.fc(h.flatten(1)))).squeeze(1)
