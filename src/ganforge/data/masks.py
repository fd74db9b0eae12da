"""Inpainting masks (1 = hole, 0 = known pixel) and the built-in task ``fmnist-inpaint``.

The three region masks of the context encoder (Pathak et al. 2016, arXiv:1604.07379, section 5):

- ``center``: the central square of side S/2, a quarter of the image (the paper's main setting).
- ``block``: the paper's random block masks, "a number of smaller possibly overlapping masks,
  covering up to 1/4 of the image": here 4 squares of side S/4 (each 1/16 of the image) at
  uniformly drawn positions, so the hole covers at most a quarter (less where they overlap).
- ``region``: the paper's random region masks are PASCAL VOC segmentation shapes, which are not
  available offline; we draw arbitrary smooth shapes instead: uniform noise on a coarse grid
  (side ~S/7, at least 3), upsampled bilinearly to S, and the S^2/4 highest pixels form the
  hole, so it covers exactly a quarter of the image in one or a few blobs.

Masks are drawn on the fly from a ``torch.Generator`` (the game seeds it from the run's seed
and step, so a resumed run draws the same masks). A user's mask is a PNG of the image's size
(white = hole, :func:`load_mask`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ganforge.config_inpaint import MASKS
from ganforge.data import sources
from ganforge.data.folder import load_image
from ganforge.data.images import ImageData
from ganforge.errors import DataError

BLOCKS = 4  # random block masks: squares of side S/4 per image


def center_mask(size: int) -> torch.Tensor:
    """(1, 1, S, S) float: 1 on the central square of side S // 2 (a quarter of the area)."""
    side = size // 2
    lo = (size - side) // 2
    mask = torch.zeros(1, 1, size, size)
    mask[..., lo : lo + side, lo : lo + side] = 1.0
    return mask


def block_masks(n: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """(n, 1, S, S): the union of ``BLOCKS`` squares of side max(1, round(S/4)) per image."""
    side = max(1, round(size / 4))
    pos = torch.randint(0, size - side + 1, (n, BLOCKS, 2), generator=gen)
    rows = torch.arange(size)
    mask = torch.zeros(n, 1, size, size)
    for k in range(BLOCKS):
        top, left = pos[:, k, 0, None], pos[:, k, 1, None]
        r = (rows >= top) & (rows < top + side)  # (n, S)
        c = (rows >= left) & (rows < left + side)
        mask[:, 0] = torch.maximum(mask[:, 0], (r[:, :, None] & c[:, None, :]).float())
    return mask


def region_masks(n: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """(n, 1, S, S): the S^2 // 4 highest pixels of coarse uniform noise upsampled bilinearly."""
    coarse = max(3, round(size / 7))
    noise = torch.rand(n, 1, coarse, coarse, generator=gen, dtype=torch.float64)
    field = F.interpolate(noise, size=(size, size), mode="bilinear", align_corners=False)
    flat = field.flatten(1)
    top = flat.topk(size * size // 4, dim=1).indices
    mask = torch.zeros_like(flat, dtype=torch.float32).scatter_(1, top, 1.0)
    return mask.view(n, 1, size, size)


def draw_masks(kind: str, n: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` masks (n, 1, S, S) of ``kind`` (one of :data:`MASKS`); ``center`` draws nothing."""
    if kind == "center":
        return center_mask(size).expand(n, -1, -1, -1).clone()
    if kind == "block":
        return block_masks(n, size, gen)
    if kind == "region":
        return region_masks(n, size, gen)
    raise DataError(f"bad mask kind {kind!r}: use {', '.join(MASKS)}")


def load_mask(path: str | Path, size: int) -> torch.Tensor:
    """A user's mask image as (1, 1, S, S) float: gray value >= 128 (white) = hole. It must be
    exactly S x S (the run's image side) and hold at least one hole pixel."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"--mask {path} does not exist")
    try:
        with Image.open(path) as img:
            img.load()
            gray = np.asarray(img.convert("L"), dtype=np.uint8)
    except (OSError, ValueError, SyntaxError):
        raise DataError(f"--mask {path} is not an image PIL can read") from None
    h, w = gray.shape
    if (h, w) != (size, size):
        raise DataError(
            f"--mask {path} is {w}x{h}: it must be {size}x{size}, the run's image size "
            "(white = hole)"
        )
    mask = torch.from_numpy((gray >= 128).astype(np.float32))[None, None]
    if not mask.any():
        raise DataError(f"--mask {path} has no white (hole) pixels: nothing to fill")
    return mask


def load_exact(path: Path, size: int, channels: int) -> np.ndarray:
    """(C, S, S) uint8 of an image that must already be S x S: a mask addresses its pixels, so
    an image of another size is refused rather than resized under the mask."""
    try:
        with Image.open(path) as img:
            w, h = img.size
    except (OSError, ValueError, SyntaxError):
        raise DataError(f"cannot read image {path}: not an image PIL can decode") from None
    if (w, h) != (size, size):
        raise DataError(
            f"{path} is {w}x{h}: this inpainting run fills {size}x{size} images "
            "(resize or crop it first)"
        )
    return load_image(path, size, channels)


def fmnist_inpaint(split: str, data_dir: str | None, **_: object) -> ImageData:
    """The Fashion-MNIST images (train 60,000, test 10,000; 1x28x28) as an inpainting task:
    the game masks them (the centre square by default, ``inpaint_mask``); no labels."""
    images, _ = sources.load_idx_split(sources.FASHION_MNIST, split, data_dir)
    return ImageData("fmnist-inpaint", torch.from_numpy(images[:, None].copy()))
