"""The canvas of the progressive and style-based games: data padded, never resized.

Their networks work on sides that are powers of two. Data of another size (Fashion-MNIST's 28)
is centred on the next power of two (32), padded with -1, the background of [-1, 1]; the
generator's canvas output is cropped back to the data's size for sampling, metrics and
export, so samples compare with the real images pixel for pixel (no resampling).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ganforge.errors import ConfigError


def canvas_for(height: int, width: int, limit: int = 1024, who: str = "this recipe") -> int:
    """The power of two (at least 8) that holds an image of ``height`` x ``width``."""
    side = max(8, 1 << math.ceil(math.log2(max(height, width))))
    if side > limit:
        raise ConfigError(
            f"{who} works up to {limit} px; this data is {height}x{width}: pass --image-size"
        )
    return side


def pad_to_canvas(x: torch.Tensor, canvas: int) -> torch.Tensor:
    """Centre ``x`` (B, C, H, W) in [-1, 1] on a canvas x canvas of -1 (black)."""
    h, w = x.shape[-2:]
    if h == w == canvas:
        return x
    top, left = (canvas - h) // 2, (canvas - w) // 2
    return F.pad(x, (left, canvas - w - left, top, canvas - h - top), value=-1.0)


def crop_from_canvas(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The centred ``height`` x ``width`` window of canvas images ``x``: the inverse of
    :func:`pad_to_canvas`."""
    h, w = x.shape[-2:]
    if (h, w) == (height, width):
        return x
    top, left = (h - height) // 2, (w - width) // 2
    return x[..., top : top + height, left : left + width]
