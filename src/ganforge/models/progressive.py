"""The progressively grown generator and discriminator (Karras et al. 2018, "Progressive
Growing of GANs for Improved Quality, Stability, and Variation", arXiv:1710.10196).

Both networks exist at every resolution 4, 8, ..., ``canvas`` from the start; a *stage*
(``level`` k, resolution r = 4 * 2^k, and ``alpha`` in [0, 1]) says which part runs:

- G: z -> pixel norm -> dense 4x4 -> conv 3x3 -> [nearest 2x, conv 3x3, conv 3x3] per level,
  leaky ReLU (0.2) and pixel norm after every conv. The image is toRGB_k(h_k), faded in as
  (1 - alpha) up2(toRGB_{k-1}(h_{k-1})) + alpha toRGB_k(h_k) (the paper's figure 2), then
  upsampled (nearest) to the canvas, as the official code does, so G's output always has the
  canvas size whatever the stage.
- D: the canvas average-pooled to r, fromRGB_k, then [conv 3x3, conv 3x3, avg-pool 2x] per
  level down to 4x4, the level's block blended as (1 - alpha) fromRGB_{k-1}(pool(x)) + alpha
  block_k(fromRGB_k(x)); at 4x4 the minibatch standard deviation (group 4), conv 3x3, dense,
  dense to one output.

Every layer has the equalised learning rate (:mod:`ganforge.models.equalized`). Channels at
resolution r are min(width, 32 width / r): the official min(fmap_max, fmap_base / r) scaled
so ``width`` is the widest layer (fmap_max 512 and fmap_base 16384 halve above 32 px).

Continuity at a switch (tested): with the same weights, level k at alpha = 1 and level k + 1
at alpha = 0 compute the same canvas image in G (bit for bit) and the same D output (up to
the rounding of two 2x poolings against one 4x pooling).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.models.equalized import SQRT2, EqualConv2d, EqualLinear, MinibatchStdDev, PixelNorm

SLOPE = 0.2  # leaky ReLU slope of every hidden layer (official code)


def channels_at(res: int, width: int) -> int:
    """Feature maps at resolution ``res``: min(width, 32 width / res), at least 1."""
    return max(1, min(width, width * 32 // res))


def upscale(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Nearest-neighbour upsampling by an integer ``factor`` (each pixel a factor^2 block);
    a broadcast and two flattens, which TorchScript and ONNX export take with a dynamic batch."""
    if factor == 1:
        return x
    x = x[:, :, :, None, :, None].expand(-1, -1, -1, factor, -1, factor)
    return x.flatten(4, 5).flatten(2, 3)


def downscale(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Average pooling over ``factor`` x ``factor`` blocks (box filter, as the official code)."""
    return x if factor == 1 else F.avg_pool2d(x, factor)


def fade_reals(x: torch.Tensor, level: int, alpha: float) -> torch.Tensor:
    """The real images D sees at a stage (official ``process_reals``): canvas images ``x``
    pooled to r = 4 * 2^level, cross-faded with their own 2x-pooled-then-upsampled version as
    (1 - alpha) up2(pool2(x_r)) + alpha x_r, and upsampled (nearest) back to the canvas, so
    reals change with alpha exactly as G's faded output does."""
    canvas = x.shape[-1]
    res = 4 << level
    x = downscale(x, canvas // res)
    if level > 0 and alpha < 1:
        x = torch.lerp(upscale(downscale(x, 2), 2), x, alpha)
    return upscale(x, canvas // res)


class Staged(nn.Module):
    """A network with a current stage (level, alpha) that its forward uses; the game sets it."""

    levels: int

    def __init__(self) -> None:
        super().__init__()
        self.level, self.alpha = 0, 1.0

    def set_stage(self, level: int, alpha: float) -> None:
        if not 0 <= level <= self.levels or not 0.0 <= alpha <= 1.0:
            raise ValueError(f"stage ({level}, {alpha}) outside 0..{self.levels}, [0, 1]")
        self.level, self.alpha = int(level), float(alpha)


def _act(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, SLOPE)


class ProgressiveGenerator(Staged):
    """z (B, z_dim) -> images; :meth:`canvas` (B, C, canvas, canvas) at the current stage,
    ``forward`` the same cropped to the data's (H, W) (centred: the game pads reals so)."""

    def __init__(self, z_dim: int, channels: int, canvas: int, width: int, crop: tuple[int, int]):
        super().__init__()
        self.canvas_size, self.crop = canvas, crop
        self.levels = int(math.log2(canvas)) - 2
        self.norm = PixelNorm()
        c0 = channels_at(4, width)
        self.c0 = c0
        # official: dense to 4x4 with gain sqrt(2)/4 (a 4x4 "deconvolution" of the latent)
        self.dense = EqualLinear(z_dim, c0 * 16, gain=SQRT2 / 4)
        self.conv0 = EqualConv2d(c0, c0, 3, padding=1)
        self.blocks = nn.ModuleList()
        self.to_rgb = nn.ModuleList([EqualConv2d(c0, channels, 1, gain=1.0)])
        prev = c0
        for k in range(1, self.levels + 1):
            c = channels_at(4 << k, width)
            self.blocks.append(
                nn.ModuleList([EqualConv2d(prev, c, 3, padding=1), EqualConv2d(c, c, 3, padding=1)])
            )
            self.to_rgb.append(EqualConv2d(c, channels, 1, gain=1.0))
            prev = c
        self.level = self.levels

    def synthesize(self, z: torch.Tensor, level: int, alpha: float) -> torch.Tensor:
        """The image at resolution 4 * 2^level, faded in by ``alpha`` (not upsampled)."""
        x = _act(self.dense(self.norm(z))).reshape(z.shape[0], self.c0, 4, 4)
        x = self.norm(_act(self.conv0(self.norm(x))))
        prev = x
        for k in range(1, level + 1):
            prev = x
            x = upscale(x, 2)
            for conv in self.blocks[k - 1]:
                x = self.norm(_act(conv(x)))
        img = self.to_rgb[level](x)
        if level > 0 and alpha < 1:
            img = torch.lerp(upscale(self.to_rgb[level - 1](prev), 2), img, alpha)
        return img

    def canvas(self, z: torch.Tensor) -> torch.Tensor:
        """G's image at the current stage, upsampled (nearest) to the canvas."""
        img = self.synthesize(z, self.level, self.alpha)
        return upscale(img, self.canvas_size // img.shape[-1])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        img = self.canvas(z)
        h, w = self.crop
        top, left = (self.canvas_size - h) // 2, (self.canvas_size - w) // 2
        return img[:, :, top : top + h, left : left + w]


class ProgressiveDiscriminator(Staged):
    """Canvas images (B, C, canvas, canvas) -> one score each (B,), at the current stage."""

    def __init__(self, channels: int, canvas: int, width: int, group: int = 4):
        super().__init__()
        self.canvas_size = canvas
        self.levels = int(math.log2(canvas)) - 2
        widths = [channels_at(4 << k, width) for k in range(self.levels + 1)]
        self.from_rgb = nn.ModuleList([EqualConv2d(channels, c, 1) for c in widths])
        self.blocks = nn.ModuleList(
            nn.ModuleList(
                [
                    EqualConv2d(widths[k], widths[k], 3, padding=1),
                    EqualConv2d(widths[k], widths[k - 1], 3, padding=1),
                ]
            )
            for k in range(1, self.levels + 1)
        )
        c0 = widths[0]
        self.mbstd = MinibatchStdDev(group)
        self.conv0 = EqualConv2d(c0 + 1, c0, 3, padding=1)
        self.dense = EqualLinear(c0 * 16, c0)
        self.out = EqualLinear(c0, 1, gain=1.0)
        self.level = self.levels

    def _block(self, k: int, h: torch.Tensor) -> torch.Tensor:
        for conv in self.blocks[k - 1]:
            h = _act(conv(h))
        return downscale(h, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level, alpha = self.level, self.alpha
        x = downscale(x, self.canvas_size // (4 << level))
        h = _act(self.from_rgb[level](x))
        if level > 0:
            h = self._block(level, h)
            if alpha < 1:
                low = _act(self.from_rgb[level - 1](downscale(x, 2)))
                h = torch.lerp(low, h, alpha)
            for k in range(level - 1, 0, -1):
                h = self._block(k, h)
        h = _act(self.conv0(self.mbstd(h)))
        h = _act(self.dense(h.flatten(1)))
        return self.out(h).squeeze(1)
