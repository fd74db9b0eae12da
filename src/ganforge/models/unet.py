"""U-Net generator of pix2pix (Isola et al. 2017, arXiv:1611.07004, section 3.2.1 and appendix 6.1.1).

Encoder C64-C128-C256-C512-C512-... (4x4 convs, stride 2, LeakyReLU 0.2, no norm on the first
layer), decoder CD512-CD512-CD512-C512-C256-C128-C64 (4x4 transposed convs, stride 2, ReLU;
"D" = dropout 0.5 on the three innermost decoder layers) and a skip connection that concatenates
encoder layer i to decoder layer n - i. The depth is log2 of the (padded) image side, so the
bottleneck is always 1x1: 5 levels at 28/32 px, 6 at 64, 7 at 128, 8 at 256 (the paper's
256-px net). Sides that are not a power of two (28) are padded to the next power of two with
-1 (black in the tanh range) and cropped back, so the output shape always equals the input's.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError
from ganforge.models.layers import norm2d

SUPPORTED_SIZES = (28, 32, 64, 128, 256)


def unet_depth(size: int) -> int:
    """Number of stride-2 levels: log2 of the side padded to a power of two (bottleneck 1x1)."""
    if size < 8:
        raise ConfigError(f"bad image size {size} for the U-Net: use at least 8 px")
    return math.ceil(math.log2(size))


def _inner_norm(kind: str, channels: int, spatial: int) -> nn.Module:
    # Instance norm of a 1x1 map is undefined (one value per channel): use none there.
    if spatial <= 1 and kind == "instance":
        return nn.Identity()
    return norm2d(kind, channels)


class UNetGenerator(nn.Module):
    """(B, in_ch, S, S) in [-1, 1] -> (B, out_ch, S, S) in [-1, 1] (tanh)."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        size: int,
        width: int = 64,
        norm: str = "batch",
        dropout: float = 0.5,
    ):
        super().__init__()
        self.size, self.depth = size, unet_depth(size)
        self.padded = 2**self.depth
        chans = [min(width * 2**i, width * 8) for i in range(self.depth)]
        self.down = nn.ModuleList()
        c_prev, spatial = in_ch, self.padded
        for i, c in enumerate(chans):
            spatial //= 2
            layers: list[nn.Module] = []
            if i > 0:
                layers.append(nn.LeakyReLU(0.2))
            innermost = i == self.depth - 1
            layers.append(
                nn.Conv2d(c_prev, c, 4, 2, 1, bias=i == 0 or innermost or norm != "batch")
            )
            if i > 0 and not innermost:
                layers.append(_inner_norm(norm, c, spatial))
            self.down.append(nn.Sequential(*layers))
            c_prev = c
        self.up = nn.ModuleList()
        for j in range(self.depth - 1, -1, -1):  # j: the encoder level this layer mirrors
            c_in = chans[j] if j == self.depth - 1 else chans[j] * 2
            last = j == 0
            c_out = out_ch if last else chans[j - 1]
            layers = [nn.ReLU(), nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=last)]
            if last:
                layers.append(nn.Tanh())
            else:
                spatial = self.padded >> j
                layers.append(_inner_norm(norm, c_out, spatial))
                if dropout and j >= self.depth - 3:
                    layers.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layers))
        self.apply(_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.shape[-1]
        pad = self.padded - s
        if pad:
            x = F.pad(x, (0, pad, 0, pad), value=-1.0)
        skips = []
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        skips.pop()  # the bottleneck feeds the first up layer directly
        for i, layer in enumerate(self.up):
            if i > 0:
                x = torch.cat([x, skips.pop()], 1)
            x = layer(x)
        return x[..., :s, :s] if pad else x


def _init(m: nn.Module) -> None:
    """Weights ~ N(0, 0.02) as in pix2pix/CycleGAN (after DCGAN)."""
    if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d | nn.InstanceNorm2d) and m.weight is not None:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)
