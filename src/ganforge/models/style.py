"""The style-based generator at small scale, pure PyTorch (no custom ops).

Karras et al. 2019, "A Style-Based Generator Architecture for GANs" (arXiv:1812.04948) and
2020, "Analyzing and Improving the Image Quality of StyleGAN" (arXiv:1912.04958):

- **Mapping network** f: z -> w, ``layers`` fully connected layers (8 in the papers) with leaky
  ReLU, after normalising z to unit second moment; equalised lr with the multiplier ``lr_mul``
  (0.01): its effective learning rate is 100 times lower than the synthesis network's.
- **Synthesis network** g: from a learned constant 4x4 input, two 3x3 convolutions per
  resolution (one at 4x4), each modulated by a style and followed by per-pixel noise with a
  learned per-channel strength, a bias and leaky ReLU; skip-connection output (each
  resolution's toRGB, upsampled and summed: StyleGAN2's "skip" G).
- **Style modulation**: StyleGAN2's weight modulation/demodulation, not StyleGAN's AdaIN.
  With s = A(w) (a learned affine map, bias 1) and conv weights w_oik,
  y_o = d_o sum_{i,k} w_oik s_i x_i,  d_o = 1 / sqrt(sum_{i,k} (w_oik s_i)^2 + 1e-8).
  Demodulation removes the expected effect of the style on the output's scale, as AdaIN's
  instance normalisation did, but from the weights' statistics instead of the activations'
  (no mean subtraction, nothing computed from the feature maps), which removes AdaIN's
  "droplet" artefacts (StyleGAN2, sec. 2) and is what the lazy R1 / path-length setting of
  this recipe was tuned with. It is computed in the equivalent unfused form: scale the input
  channels by s, convolve with the shared weights, scale the output channels by d (no grouped
  convolution, so any batch size runs fast on a CPU).
- **Styles per layer** ``ws`` (B, num_ws, w_dim), num_ws = 2 per resolution: resolution
  level j (4 * 2^j px) reads ws[:, 2j] and ws[:, 2j+1]; at 4x4 the conv reads ws[:, 0] and
  the toRGB ws[:, 1]; above, the upsampling conv reads ws[:, 2j] and the second conv and the
  toRGB ws[:, 2j+1] (StyleGAN's two styles per resolution; StyleGAN2 shares the toRGB's w with
  the next level's first conv instead, the same count 2 log2(res) - 2).

Simplifications against the official code, for speed on CPUs: upsampling is bilinear
interpolation before the conv (not a transposed conv with a [1,3,3,1] FIR filter).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.models.canvas import canvas_for, crop_from_canvas
from ganforge.models.equalized import SQRT2, EqualLinear, PixelNorm

NOISE_MODES = ("random", "const")


def level_channels(width: int, levels: int, j: int) -> int:
    """Channels at resolution level j (4 * 2^j px): ``width`` at the top level, doubling per
    level below, at most 8 * ``width`` (the reference's min(base / res, max))."""
    return min(width * 2 ** (levels - 1 - j), 8 * width)


class MappingNetwork(nn.Module):
    """w = f(z): z / sqrt(mean(z^2) + 1e-8), then ``layers`` x (EqualLinear, lrelu 0.2 * sqrt 2)."""

    def __init__(self, z_dim: int, w_dim: int, layers: int = 8, lr_mul: float = 0.01):
        super().__init__()
        self.norm = PixelNorm()
        self.layers = nn.ModuleList(
            EqualLinear(z_dim if i == 0 else w_dim, w_dim, gain=1.0, lr_mul=lr_mul)
            for i in range(layers)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.norm(z)
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.2) * SQRT2
        return x


class ModulatedConv2d(nn.Module):
    """StyleGAN2's modulated (and demodulated) convolution, unfused; ``up`` upsamples 2x."""

    def __init__(
        self, cin: int, cout: int, kernel: int, w_dim: int, demodulate: bool = True, up=False
    ):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.scale = 1.0 / math.sqrt(cin * kernel * kernel)  # equalised lr
        self.affine = EqualLinear(w_dim, cin, gain=1.0, bias_init=1.0)  # s = A(w), bias 1
        self.demodulate, self.up, self.padding = demodulate, up, kernel // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        s = self.affine(w)  # (B, cin)
        weight = self.weight * self.scale
        x = x * s.to(x.dtype)[:, :, None, None]
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        y = F.conv2d(x, weight.to(x.dtype), padding=self.padding)
        if self.demodulate:
            # sum_{i,k} (w_oik s_i)^2 = sum_i s_i^2 sum_k w_oik^2: a (B, cin) x (cin, cout) product
            energy = s.float().square() @ weight.float().square().sum((2, 3)).t()
            y = y * torch.rsqrt(energy + 1e-8).to(y.dtype)[:, :, None, None]
        return y


class StyleLayer(nn.Module):
    """Modulated 3x3 conv, + noise * per-channel strength, + bias, lrelu 0.2 * sqrt 2.

    The noise is a fresh N(0, 1) map per sample in ``random`` mode (training) and a fixed map
    drawn at construction in ``const`` mode (sampling, export: an image is a function of its
    latent). Strengths start at 0 (as the reference) and are learned."""

    def __init__(self, cin: int, cout: int, w_dim: int, res: int, up: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(cin, cout, 3, w_dim, up=up)
        self.noise_strength = nn.Parameter(torch.zeros(cout))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.register_buffer("noise_const", torch.randn(1, 1, res, res))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: str = "const") -> torch.Tensor:
        y = self.conv(x, w)
        if noise == "random":
            n = torch.randn(y.shape[0], 1, y.shape[2], y.shape[3], device=y.device, dtype=y.dtype)
        else:
            n = self.noise_const.to(y.dtype)
        y = y + n * self.noise_strength.to(y.dtype)[None, :, None, None]
        return F.leaky_relu(y + self.bias.to(y.dtype)[None, :, None, None], 0.2) * SQRT2


class ToRGB(nn.Module):
    """Modulated 1x1 conv to image channels, not demodulated, + bias (no activation)."""

    def __init__(self, cin: int, channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(cin, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        y = self.conv(x, w)
        return y + self.bias.to(y.dtype)[None, :, None, None]


class StyleGenerator(nn.Module):
    """G = g(broadcast(f(z))) for (C, size, size) images; the synthesis works on the canvas,
    the power of two >= 8 that holds ``size`` (games/canvas.py), and :meth:`crop` cuts the
    image of ``size`` out of it (the game pads real images to the same canvas).

    ``forward(z)`` is the plain sampler (constant noise, no truncation, output clamped to
    [-1, 1], cropped to ``size``): what export traces. Training calls :meth:`mapping`, :meth:`synthesis` and
    :meth:`track_w_avg` through the game. ``w_avg`` (a buffer) is the tracked average of w,
    the centre of the truncation trick.
    """

    def __init__(
        self,
        z_dim: int,
        channels: int,
        size: int,
        width: int,
        mapping_layers: int = 8,
        lr_mul: float = 0.01,
    ):
        super().__init__()
        self.size, self.canvas_size = size, canvas_for(size, size, who="stylegan")
        levels = int(math.log2(self.canvas_size)) - 1  # 4, 8, ..., canvas
        self.levels, self.w_dim, self.num_ws = levels, z_dim, 2 * levels
        ch = [level_channels(width, levels, j) for j in range(levels)]
        self.mapping = MappingNetwork(z_dim, z_dim, mapping_layers, lr_mul)
        self.register_buffer("w_avg", torch.zeros(z_dim))
        self.const = nn.Parameter(torch.randn(1, ch[0], 4, 4))
        self.layers = nn.ModuleList([StyleLayer(ch[0], ch[0], z_dim, 4)])
        self.to_rgb = nn.ModuleList([ToRGB(ch[0], channels, z_dim)])
        for j in range(1, levels):
            res = 4 * 2**j
            self.layers.append(StyleLayer(ch[j - 1], ch[j], z_dim, res, up=True))
            self.layers.append(StyleLayer(ch[j], ch[j], z_dim, res))
            self.to_rgb.append(ToRGB(ch[j], channels, z_dim))

    @torch.no_grad()
    def track_w_avg(self, w: torch.Tensor, beta: float) -> None:
        """w_avg <- beta w_avg + (1 - beta) mean_batch(w) (the reference's w_avg_beta)."""
        self.w_avg.copy_(w.detach().float().mean(0).lerp(self.w_avg, beta))

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """(B, w_dim) -> (B, num_ws, w_dim): the same w for every layer."""
        return w[:, None, :].repeat(1, self.num_ws, 1)

    def synthesis(self, ws: torch.Tensor, noise: str = "const") -> torch.Tensor:
        """Images (B, C, size, size), not clamped, from per-layer styles ``ws``."""
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        x = self.layers[0](x, ws[:, 0], noise)
        rgb = self.to_rgb[0](x, ws[:, 1])
        for j in range(1, self.levels):
            x = self.layers[2 * j - 1](x, ws[:, 2 * j], noise)
            x = self.layers[2 * j](x, ws[:, 2 * j + 1], noise)
            up = F.interpolate(rgb, scale_factor=2, mode="bilinear", align_corners=False)
            rgb = up + self.to_rgb[j](x, ws[:, 2 * j + 1])
        return rgb

    def crop(self, x: torch.Tensor) -> torch.Tensor:
        """The (size, size) image in the centre of canvas images ``x``."""
        return crop_from_canvas(x, self.size, self.size)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.crop(self.synthesis(self.broadcast(self.mapping(z)))).clamp(-1, 1)
