"""PatchGAN discriminator (Isola et al. 2017, arXiv:1611.07004, appendix 6.1.2).

The 70x70 PatchGAN is C64-C128-C256-C512 followed by a 1-channel conv: 4x4 convs, the first
three with stride 2, the last two with stride 1, LeakyReLU 0.2, no norm on C64. Each output
logit sees a 70x70 patch of the input; D's loss averages over all patches. With ``n_layers`` =
1 or 2 the same recipe gives 16x16 and 34x34 patches for small images.

The receptive field of a stack of convs (k_i, s_i) follows r_{i-1} = (r_i - 1) s_i + k_i from
r = 1 at the output, computed by :func:`receptive_field` from the module itself.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.models.layers import norm2d
from ganforge.models.unet import _init


def patch_layers_for(size: int) -> int:
    """Stride-2 layers: 3 (70x70 patch) at >=128 px, 2 (34x34) at 64 px, 1 (16x16) below."""
    if size >= 128:
        return 3
    if size >= 64:
        return 2
    return 1


class PatchDiscriminator(nn.Module):
    """(B, in_ch, S, S) -> (B, 1, S', S') logits, one per overlapping patch."""

    def __init__(self, in_ch: int, width: int = 64, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        bias = norm != "batch"
        layers: list[nn.Module] = [nn.Conv2d(in_ch, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        c = width
        for i in range(1, n_layers + 1):
            c_next = width * min(2**i, 8)
            stride = 2 if i < n_layers else 1
            layers += [
                nn.Conv2d(c, c_next, 4, stride, 1, bias=bias),
                norm2d(norm, c_next),
                nn.LeakyReLU(0.2),
            ]
            c = c_next
        layers.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        self.n_layers = n_layers
        self.apply(_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def receptive_field(module: nn.Module) -> int:
    """Side in pixels of the input region one output unit of ``module``'s conv stack sees."""
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    r = 1
    for conv in reversed(convs):
        (k, _), (s, _), (d, _) = conv.kernel_size, conv.stride, conv.dilation
        r = (r - 1) * s + d * (k - 1) + 1
    return r
