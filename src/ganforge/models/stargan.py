"""StarGAN's networks (Choi et al. 2018, arXiv:1711.09020, appendix 7.1 and table 4).

Generator G(x, c): the target domain c (one-hot over K domains) is tiled to K constant planes
and concatenated to the image's channels; then

    conv 7x7 s1 (w) -> 2 x [conv 4x4 s2] (2w, 4w) -> n residual blocks (4w)
    -> 2 x [deconv 4x4 s2] (2w, w) -> conv 7x7 s1 (C) -> tanh

with instance norm and ReLU after every conv but the last (the paper's 6 residual blocks at
128 px). The side must be a multiple of 4 (28, 32, 64, ...).

Discriminator: a PatchGAN trunk of stride-2 4x4 convs with LeakyReLU(0.01) and no normalisation
(the paper's, since D carries a gradient penalty), then two heads on its last map:

    D_src: conv 3x3 s1 -> one logit per patch (the adversarial head)
    D_cls: conv k x k s1, k = the map's side -> K domain logits (the classification head)

The reference's 6 stride-2 layers bring 128 px down to 2x2; here the trunk halves the side while
it is above 4 px (:func:`trunk_layers`): 3 layers at 28 px (3x3 map, each logit of D_src seeing
most of the object), 3 at 32 px (4x4), 4 at 64 px (4x4), 5 at 128 px.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.models.layers import norm2d


def tile_domain(x: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) images and (B, K) domain codes -> (B, C + K, H, W): each code entry a
    constant plane beside the image (the paper's depth-wise concatenation)."""
    planes = onehot.to(x.dtype)[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
    return torch.cat([x, planes], 1)


class _Residual(nn.Module):
    """x + IN(conv3x3(ReLU(IN(conv3x3(x)))))."""

    def __init__(self, c: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c, c, 3, 1, 1, bias=False),
            norm2d(norm, c),
            nn.ReLU(),
            nn.Conv2d(c, c, 3, 1, 1, bias=False),
            norm2d(norm, c),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class StarGenerator(nn.Module):
    """G(x, c): (B, C, S, S) in [-1, 1] and (B, K) one-hot targets -> (B, C, S, S) in [-1, 1]."""

    def __init__(
        self, channels: int, domains: int, width: int = 64, norm: str = "instance", blocks: int = 6
    ):
        super().__init__()
        self.domains = domains
        w = width
        layers: list[nn.Module] = [
            nn.Conv2d(channels + domains, w, 7, 1, 3, bias=False),
            norm2d(norm, w),
            nn.ReLU(),
        ]
        for c_in in (w, 2 * w):  # down-sampling
            layers += [nn.Conv2d(c_in, 2 * c_in, 4, 2, 1, bias=False), norm2d(norm, 2 * c_in)]
            layers.append(nn.ReLU())
        layers += [_Residual(4 * w, norm) for _ in range(blocks)]
        for c_in in (4 * w, 2 * w):  # up-sampling
            layers += [
                nn.ConvTranspose2d(c_in, c_in // 2, 4, 2, 1, bias=False),
                norm2d(norm, c_in // 2),
                nn.ReLU(),
            ]
        layers += [nn.Conv2d(w, channels, 7, 1, 3, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        return self.net(tile_domain(x, onehot))


def trunk_layers(size: int) -> int:
    """Stride-2 layers of D's trunk: halve the side while it is above 4 px (at least 1)."""
    n = 0
    while size > 4:
        size = (size + 2 - 4) // 2 + 1
        n += 1
    return max(1, n)


def trunk_side(size: int, layers: int) -> int:
    """The side of D's last map after ``layers`` 4x4 stride-2 convs with padding 1."""
    for _ in range(layers):
        size = (size + 2 - 4) // 2 + 1
    return size


class StarDiscriminator(nn.Module):
    """(B, C, S, S) -> (patch logits (B, 1, s, s), domain logits (B, K))."""

    def __init__(self, channels: int, size: int, domains: int, width: int = 64, norm: str = "none"):
        super().__init__()
        n = trunk_layers(size)
        layers: list[nn.Module] = []
        c_in, c = channels, width
        for i in range(n):
            layers += [nn.Conv2d(c_in, c, 4, 2, 1)]
            if i:  # no norm on the first layer (and none at all in the paper's D)
                layers.append(norm2d(norm, c))
            layers.append(nn.LeakyReLU(0.01))
            c_in, c = c, 2 * c
        self.trunk = nn.Sequential(*layers)
        side = trunk_side(size, n)
        self.src = nn.Conv2d(c_in, 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(c_in, domains, side, 1, 0, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.src(h), self.cls(h).flatten(1)
