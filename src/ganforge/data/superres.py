"""Super-resolution data: high-resolution images whose low-resolution partners are made on the
fly by bicubic downscaling, as in Ledig et al. 2017 (arXiv:1609.04802, section 3: "obtained
by applying a Gaussian filter ... followed by downsampling" with bicubic kernel; here torch's
antialiased bicubic, r = 2 or 4).

- ``fmnist-sr4``: Fashion-MNIST 28x28 targets, 7x7 inputs (x4); ``fmnist-sr2``: 14x14 inputs (x2).
- ``sr4:PATH`` / ``sr2:PATH``: every image under the folder PATH (as ``folder:PATH``: 64 px RGB
  unless ``image_size``/``channels`` say otherwise) as targets, their x4 / x2 downscales as inputs.

Only the targets are stored; the inputs are a pure function of them (:func:`downscale`), so
batches, resume and evaluation need nothing else.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F

from ganforge.data import builtin
from ganforge.data.folder import load_folder
from ganforge.data.images import ImageData
from ganforge.errors import DataError

_NAME = re.compile(r"^(?:fmnist-sr|sr)(\d+)(?::|$)")
SCALES = (2, 4)


def scale_of(dataset: str) -> int:
    """The upscaling factor a super-resolution dataset name carries (``fmnist-sr4``,
    ``sr2:PATH``), or 0 for any other dataset."""
    m = _NAME.match(dataset)
    return int(m.group(1)) if m and int(m.group(1)) in SCALES else 0


def downscale(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """Low-resolution inputs of (N, C, S, S) targets in [-1, 1]: bicubic with antialiasing to
    S / ``scale``, then quantised to 8-bit levels (the inputs are images, as in the paper)."""
    x = hr.float().add(1).mul(127.5)
    lr = F.interpolate(x, scale_factor=1 / scale, mode="bicubic", antialias=True)
    return lr.round().clamp(0, 255).div(127.5).sub(1)


def bicubic_upscale(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """The baseline every SR method is compared with: bicubic interpolation by ``scale``,
    clamped to [-1, 1]."""
    up = F.interpolate(lr.float(), scale_factor=scale, mode="bicubic", align_corners=False)
    return up.clamp(-1, 1)


def _fmnist(scale: int):
    load = builtin.idx_loader("fashion-mnist", builtin.FASHION_CLASSES)

    def fmnist_sr(split: str, data_dir: str | None, **_: object) -> ImageData:
        """Fashion-MNIST 28x28 targets (with their class labels, for reference)."""
        data = load(split, data_dir)
        data.name = f"fmnist-sr{scale}"
        return data

    return fmnist_sr


fmnist_sr4, fmnist_sr2 = _fmnist(4), _fmnist(2)


def _folder(scale: int):
    def load(
        path: str,
        split: str = "train",
        image_size: int = 0,
        channels: int = 0,
        skip_bad: bool = False,
        **_: object,
    ) -> ImageData:
        """Targets: every image under PATH at ``image_size`` (64 px by default), which must
        divide by the factor."""
        size = image_size or 64
        if size % scale:
            raise DataError(
                f"sr{scale}:{path} needs an image size divisible by {scale}, got {size}"
            )
        images, skipped = load_folder(path, size, channels or 3, skip_bad=skip_bad)
        return ImageData(f"sr{scale}:{path}", torch.from_numpy(images), skipped=skipped)

    return load


sr4_folder, sr2_folder = _folder(4), _folder(2)
