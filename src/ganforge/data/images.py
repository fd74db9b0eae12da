"""In-memory image data: :class:`ImageData` (uint8 images, optional labels) and its adaptation.

Every dataset, named or from a path, arrives as (N, C, H, W) uint8 in [0, 255]. A run may ask
for another side S or channel count; :func:`adapt_images` resizes bilinearly with antialiasing
(the area-weighted filter of ``torch.nn.functional.interpolate``) and converts channels:
gray -> RGB repeats the plane, RGB -> gray takes the ITU-R BT.601 luma
Y = 0.299 R + 0.587 G + 0.114 B.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge.errors import DataError


def adapt_images(images: torch.Tensor, image_size: int, channels: int) -> torch.Tensor:
    """Resize (bilinear, antialiased) and/or convert channels of (N, C, H, W) uint8 images;
    0 keeps the side or channel count as it is."""
    if channels and channels != images.shape[1]:
        if channels == 3:
            images = images.expand(-1, 3, -1, -1).contiguous()
        else:
            weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            images = (images.float() * weights).sum(1, keepdim=True).round().to(torch.uint8)
    if image_size and image_size != images.shape[-1]:
        out = torch.nn.functional.interpolate(
            images.float(),
            size=(image_size, image_size),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )
        images = out.round().clamp(0, 255).to(torch.uint8)
    return images


@dataclass
class ImageData:
    """A dataset in memory: ``images`` (N, C, H, W) uint8 and optional ``labels`` (N,) int64
    in 0..num_classes-1; ``skipped`` counts unreadable files left out of a folder."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor | None = None
    num_classes: int = 0
    class_names: tuple[str, ...] = ()
    skipped: int = 0

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def adapt(self, image_size: int, channels: int) -> ImageData:
        """Resize/convert the images in place (see :func:`adapt_images`); datasets made of
        several image sets (paired, unpaired) adapt each set."""
        self.images = adapt_images(self.images, image_size, channels)
        return self


def check_labels(data: ImageData, split: str) -> None:
    """Refuse labels outside 0..num_classes-1 (a damaged label file) when the data are loaded,
    not when a conditional model indexes with them mid-run."""
    labels, k = data.labels, data.num_classes
    if labels is None or not len(labels) or not k:
        return
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi >= k:
        bad = int(((labels < 0) | (labels >= k)).sum())
        raise DataError(
            f"{data.name} {split} labels: {bad} of {len(labels)} lie outside 0..{k - 1} "
            f"(range {lo}..{hi}); the label file is damaged, replace it"
        )
