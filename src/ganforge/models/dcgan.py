"""DCGAN (Radford et al. 2016): transposed-conv generator, strided-conv discriminator.

Rules from the paper (and the notes): no pooling (strided convs), BatchNorm in both nets except
G's output and D's input layer, ReLU in G with tanh output, LeakyReLU(0.2) in D, weights
N(0, 0.02). The depth follows the image size: the side is halved while it is even and > 4, so
28 px starts from 7x7 (2 stages), 32 px from 4x4 (3 stages) and 64 px from 4x4 (4 stages).

G upsamples with the paper's 4x4 stride-2 transposed convolutions only for shallow nets (up to
2 stages: 28 px). From 3 stages on (32, 64 px) it uses resize-convolutions, nearest 2x upsampling
then a 3x3 conv (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts", Distill). Why:
a stride-2 transposed conv gives neighbouring output pixels different kernel taps, so G's
samples carry a checkerboard from the start; stacked 3-4 times it dominates the output, D
separates real from fake on it within ~50 steps (D loss 0.02, G loss > 6 at 32 px, 12 at 64 px)
and G's diversity across z falls to ~0.1 of the data's: every sample the same grey/noise tile
(issue 24, item 3; 300 RGB images at 32 or 64 px). With resize-convolutions the same runs keep
D loss near 0.7 and reach the data's diversity within 150 steps. 28 px keeps the transposed
convs its benchmarks were measured with.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.models.layers import Flatten, SelfAttention, dcgan_init, norm2d

RESIZE_CONV_FROM = 3  # stages from which G upsamples by resize-convolution (32 px and up)


def upsample(c_in: int, c_out: int, stages: int, bias: bool) -> list[nn.Module]:
    """One 2x upsampling layer of G: resize-conv for deep G's, else a transposed conv."""
    if stages >= RESIZE_CONV_FROM:
        return [
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias),
        ]
    return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias)]


def stages_for(size: int) -> tuple[int, int]:
    """(number of 2x up/down-sampling stages, starting side) for an image side ``size``."""
    if size < 4:
        raise ConfigError(f"bad value {size} for 'image_size': DCGAN needs at least 4 px")
    k, side = 0, size
    while side % 2 == 0 and side > 4:
        side //= 2
        k += 1
    if k == 0:
        raise ConfigError(
            f"bad value {size} for 'image_size': must be divisible by 2 (e.g. 28, 32, 64)"
        )
    return k, side


class DCGANGenerator(nn.Module):
    """z (B, in_dim) -> image (B, C, S, S) in [-1, 1].

    Channels ``width * 2^(k-1), ..., width`` then C: for 64 px and width 128 this is the paper's
    1024-512-256-128; for 32 px and width 64 the notes' 256-128-64.
    """

    def __init__(
        self,
        in_dim: int,
        channels: int,
        size: int,
        width: int = 64,
        norm: str = "batch",
        attention: bool = False,
    ):
        super().__init__()
        k, side = stages_for(size)
        top = width * 2 ** (k - 1)
        self.start = (top, side, side)
        self.project = nn.Sequential(
            nn.Linear(in_dim, top * side * side, bias=norm == "none"),
        )
        self.project_norm = nn.Sequential(norm2d(norm, top), nn.ReLU(True))
        layers: list[nn.Module] = []
        ch = top
        for i in range(k - 1):
            layers += [
                *upsample(ch, ch // 2, k, bias=norm == "none"),
                norm2d(norm, ch // 2),
                nn.ReLU(True),
            ]
            ch //= 2
            if attention and i == (k - 2) // 2:
                layers.append(SelfAttention(ch))
        layers += [*upsample(ch, channels, k, bias=True), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self._first_conv = next(  # an index, not a module attribute: no duplicate state-dict keys
            i for i, m in enumerate(layers) if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)
        )
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], *self.start)
        if self.net[self._first_conv].weight.is_contiguous(memory_format=torch.channels_last):
            x = x.contiguous(memory_format=torch.channels_last)  # one format through G (Flatten)
        return self.net(self.project_norm(x))


class DCGANDiscriminator(nn.Module):
    """image (B, C, S, S) -> logit (B,); ``features`` is the flattened last conv map."""

    def __init__(
        self,
        channels: int,
        size: int,
        width: int = 64,
        norm: str = "batch",
        attention: bool = False,
    ):
        super().__init__()
        k, side = stages_for(size)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        ch = width
        for i in range(k - 1):
            if attention and i == (k - 1) // 2:
                layers.append(SelfAttention(ch))
            layers += [
                nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=norm == "none"),
                norm2d(norm, ch * 2),
                nn.LeakyReLU(0.2, True),
            ]
            ch *= 2
        layers.append(Flatten())
        self.body = nn.Sequential(*layers)
        self.feature_dim = ch * side * side
        self.head = nn.Linear(self.feature_dim, 1)
        dcgan_init(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)
