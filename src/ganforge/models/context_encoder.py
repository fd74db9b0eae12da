"""The context encoder's generator (Pathak et al. 2016, arXiv:1604.07379, section 3.1).

An encoder-decoder: 4x4 stride-2 convolutions (LeakyReLU 0.2, no norm on the first) take the
masked image and its mask, (B, C + 1, S, S), down to an m x 4 x 4 feature map; a **channel-wise
fully-connected** layer (section 3.1, as the paper) connects each channel's 4 x 4 = 16 values to
16 outputs of the same channel,

    y[b, c, j] = sum_i x[b, c, i] W[c, i, j] + beta[c, j],      W: (m, 16, 16),

which gives every output position the whole image's context with m 16^2 parameters instead of
the (16 m)^2 of a full layer; a stride-1 (1x1) convolution then mixes the channels. The decoder
mirrors the encoder with 4x4 stride-2 transposed convolutions (ReLU, tanh output) back to the
full image; the game keeps the known pixels and takes only the hole from it.

The depth follows the image: the side is padded (with -1, black in the tanh range) to 4 * 2^k
and k stride-2 levels reach 4 x 4 (k = 3 at 28 px padded to 32, 5 at the paper's 128 px); the
output is cropped back, so its shape always equals the input's. The mask channel is our
addition (the paper's G sees only the image): it tells G where the hole is for random and user
masks. Weights ~ N(0, 0.02) as in DCGAN; W ~ N(0, 1/16) so the layer keeps the scale.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError
from ganforge.models.layers import norm2d
from ganforge.models.unet import _init

BOTTLENECK_SIDE = 4


def encoder_levels(size: int) -> int:
    """Stride-2 levels from the side (padded to 4 * 2^k) down to 4 x 4."""
    if size < 8:
        raise ConfigError(f"bad image size {size} for the context encoder: use at least 8 px")
    return math.ceil(math.log2(size / BOTTLENECK_SIDE))


class ChannelwiseFC(nn.Module):
    """(B, m, n, n) -> (B, m, n, n): a fully-connected layer within each channel, none across."""

    def __init__(self, channels: int, side: int):
        super().__init__()
        k = side * side
        self.weight = nn.Parameter(torch.randn(channels, k, k) / k**0.5)
        self.bias = nn.Parameter(torch.zeros(channels, k))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        flat = x.reshape(b, c, h * w)
        y = torch.einsum("bci,cij->bcj", flat, self.weight) + self.bias
        return y.reshape(b, c, h, w)


class ContextEncoder(nn.Module):
    """(B, in_ch, S, S) in [-1, 1] (masked image + mask) -> (B, out_ch, S, S) in [-1, 1]."""

    def __init__(self, in_ch: int, out_ch: int, size: int, width: int = 64, norm: str = "batch"):
        super().__init__()
        self.size, self.levels = size, encoder_levels(size)
        self.padded = BOTTLENECK_SIDE * 2**self.levels
        chans = [min(width * 2**i, width * 8) for i in range(self.levels)]
        enc: list[nn.Module] = []
        c_prev = in_ch
        for i, c in enumerate(chans):
            enc.append(nn.Conv2d(c_prev, c, 4, 2, 1, bias=i == 0 or norm != "batch"))
            if i > 0:
                enc.append(norm2d(norm, c))
            enc.append(nn.LeakyReLU(0.2))
            c_prev = c
        self.encoder = nn.Sequential(*enc)
        m = chans[-1]
        self.channel_fc = ChannelwiseFC(m, BOTTLENECK_SIDE)
        self.mix = nn.Sequential(
            nn.Conv2d(m, m, 1, bias=norm != "batch"), norm2d(norm, m), nn.ReLU()
        )
        dec: list[nn.Module] = []
        for j in range(self.levels - 1, -1, -1):
            last = j == 0
            c_out = out_ch if last else chans[j - 1]
            dec.append(nn.ConvTranspose2d(chans[j], c_out, 4, 2, 1, bias=last or norm != "batch"))
            dec += [nn.Tanh()] if last else [norm2d(norm, c_out), nn.ReLU()]
        self.decoder = nn.Sequential(*dec)
        self.encoder.apply(_init)
        self.mix.apply(_init)
        self.decoder.apply(_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.shape[-1]
        pad = self.padded - s
        if pad:
            x = F.pad(x, (0, pad, 0, pad), value=-1.0)
        y = self.decoder(self.mix(self.channel_fc(self.encoder(x))))
        return y[..., :s, :s] if pad else y
