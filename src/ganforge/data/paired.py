"""Paired and unpaired image-to-image datasets.

- ``paired:PATH`` (pix2pix layout): either folders ``A/`` and ``B/`` holding files with the same
  names, or files that hold A and B side by side (left half A, right half B). Each may sit in
  ``PATH/train``, ``PATH/test`` (or ``PATH/val``); without split folders PATH itself is the
  training split. The pairs are stored as one (N, 2C, S, S) uint8 tensor: channels [0, C) are A,
  [C, 2C) are B, so the ordinary :class:`~ganforge.data.batches.Batches` serves them.
- ``unpaired:PATH`` (CycleGAN layout): ``trainA/``, ``trainB/``, ``testA/``, ``testB/``; the two
  domains are independent sets of different sizes.
- ``fmnist-edges2items``: Fashion-MNIST item <- its edge map (Sobel magnitude, thresholded);
  ``fmnist-sneaker2boot``: sneakers (class 7) <-> ankle boots (class 9).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ganforge.data import sources
from ganforge.data.folder import IMAGE_SUFFIXES, list_images, load_image
from ganforge.data.images import ImageData, adapt_images
from ganforge.errors import DataError

SNEAKER, ANKLE_BOOT = 7, 9


@dataclass
class PairedData(ImageData):
    """``images`` is (N, 2C, S, S): A on the first C channels, B on the last C."""

    def adapt(self, image_size: int, channels: int) -> PairedData:
        c = self.images.shape[1] // 2
        a = adapt_images(self.images[:, :c], image_size, channels)
        b = adapt_images(self.images[:, c:], image_size, channels)
        self.images = torch.cat([a, b], 1)
        return self

    @property
    def a(self) -> torch.Tensor:
        return self.images[:, : self.images.shape[1] // 2]

    @property
    def b(self) -> torch.Tensor:
        return self.images[:, self.images.shape[1] // 2 :]


@dataclass
class UnpairedData(ImageData):
    """``images`` is domain A (N_A, C, S, S); ``images_b`` is domain B (N_B, C, S, S)."""

    images_b: torch.Tensor | None = None
    class_a: int = -1  # the class of each domain when it is one (for evaluation), else -1
    class_b: int = -1

    def adapt(self, image_size: int, channels: int) -> UnpairedData:
        self.images = adapt_images(self.images, image_size, channels)
        self.images_b = adapt_images(self.images_b, image_size, channels)
        return self


# -- folders ---------------------------------------------------------------------------------
def _split_dir(root: Path, split: str) -> Path:
    """PATH/train or PATH/test (or PATH/val); PATH itself for train when it has no split dirs."""
    names = ("train",) if split == "train" else ("test", "val")
    for name in names:
        if (root / name).is_dir():
            return root / name
    if split == "train" and not any((root / n).is_dir() for n in ("test", "val")):
        return root
    if split == "train":
        raise DataError(f"paired dataset {root} has test/ or val/ but no train/ folder")
    raise DataError(f"paired dataset {root} has no test split: expected {root}/test or {root}/val")


def _load(path: Path, size: int, channels: int) -> np.ndarray:
    if path.stat().st_size == 0:
        raise DataError(f"image {path} is an empty (zero-byte) file")
    return load_image(path, size, channels)


def _open_root(path: str, kind: str, image_size: int, channels: int) -> tuple[Path, int, int]:
    """The dataset folder (which must exist) and the side/channels, 64 px RGB by default."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"{kind} dataset folder {root} does not exist")
    return root, image_size or 64, channels or 3


def load_paired(
    path: str, split: str = "train", image_size: int = 0, channels: int = 0, **_: object
) -> PairedData:
    """A ``paired:PATH`` dataset as (N, 2C, S, S) uint8 (see module docstring)."""
    root, size, ch = _open_root(path, "paired", image_size, channels)
    base = _split_dir(root, split)
    if (base / "A").is_dir() or (base / "B").is_dir():
        pairs = _folder_pairs(base)
        a = np.stack([_load(pa, size, ch) for pa, _ in pairs])
        b = np.stack([_load(pb, size, ch) for _, pb in pairs])
    else:
        files = list_images(base)
        if not files:
            raise DataError(
                f"no images in {base}: expected side-by-side A|B files or folders A/ and B/"
            )
        halves = [_side_by_side(p, size, ch) for p in files]
        a = np.stack([h[0] for h in halves])
        b = np.stack([h[1] for h in halves])
    images = torch.from_numpy(np.concatenate([a, b], 1))
    return PairedData(f"paired:{path}", images)


def _folder_pairs(base: Path) -> list[tuple[Path, Path]]:
    """Files of A/ and B/ matched by relative name; any file without a partner is refused."""
    dir_a, dir_b = base / "A", base / "B"
    for d in (dir_a, dir_b):
        if not d.is_dir():
            raise DataError(f"paired dataset {base} has no {d.name}/ folder next to the other one")
    files_a = {p.relative_to(dir_a).with_suffix(""): p for p in list_images(dir_a)}
    files_b = {p.relative_to(dir_b).with_suffix(""): p for p in list_images(dir_b)}
    for key, p in sorted(files_a.items()):
        if key not in files_b:
            raise DataError(f"{p} has no partner in {dir_b} (pairs need the same file name)")
    for key, p in sorted(files_b.items()):
        if key not in files_a:
            raise DataError(f"{p} has no partner in {dir_a} (pairs need the same file name)")
    if not files_a:
        raise DataError(f"no images in {dir_a} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    return [(files_a[k], files_b[k]) for k in sorted(files_a)]


def _side_by_side(path: Path, size: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Left half -> A, right half -> B; each resized and centre-cropped to ``size``."""
    try:
        with Image.open(path) as img:
            img.load()
            img = img.convert("L" if channels == 1 else "RGB")
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"cannot read image {path}: {exc}") from None
    w, h = img.size
    if w % 2 or w < 2:
        raise DataError(
            f"{path} is {w}x{h}: a side-by-side pair needs an even width (A left, B right)"
        )
    halves = []
    for left in (0, w // 2):
        half = img.crop((left, 0, left + w // 2, h)).resize((size, size), Image.Resampling.BICUBIC)
        arr = np.asarray(half, dtype=np.uint8)
        halves.append(arr[None] if channels == 1 else arr.transpose(2, 0, 1))
    return halves[0], halves[1]


def load_unpaired(
    path: str, split: str = "train", image_size: int = 0, channels: int = 0, **_: object
) -> UnpairedData:
    """An ``unpaired:PATH`` dataset: PATH/{split}A and PATH/{split}B, each a folder of images."""
    root, size, ch = _open_root(path, "unpaired", image_size, channels)
    dir_a, dir_b = root / f"{split}A", root / f"{split}B"
    for d, other in ((dir_a, dir_b), (dir_b, dir_a)):
        if not d.is_dir():
            raise DataError(
                f"unpaired dataset {root} has no {d.name}/ folder"
                + (f" to match {other.name}/" if other.is_dir() else "")
                + " (layout: trainA/, trainB/, testA/, testB/)"
            )
    domains = []
    for d in (dir_a, dir_b):
        files = list_images(d)
        if not files:
            raise DataError(f"no images in {d} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
        domains.append(torch.from_numpy(np.stack([_load(p, size, ch) for p in files])))
    return UnpairedData(f"unpaired:{path}", domains[0], images_b=domains[1])


# -- built-in tasks from Fashion-MNIST ---------------------------------------------------------
def _fashion(split: str, data_dir: str | None) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = sources.load_idx_split(sources.FASHION_MNIST, split, data_dir)
    return torch.from_numpy(images[:, None].copy()), torch.from_numpy(labels)


def edge_map(images: torch.Tensor, threshold: float = 1.0) -> torch.Tensor:
    """Binary edges of (N, 1, H, W) uint8 images: 255 where the Sobel gradient magnitude
    sqrt(G_x^2 + G_y^2) of the [0, 1] image exceeds ``threshold``, else 0."""
    x = images.float() / 255.0
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    k = torch.stack([kx, kx.t()])[:, None]
    g = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k)
    mag = g.pow(2).sum(1, keepdim=True).sqrt()
    return (mag > threshold).to(torch.uint8) * 255


def fmnist_edges2items(split: str, data_dir: str | None, **_: object) -> PairedData:
    """Paired: A = edge map of a Fashion-MNIST image, B = the image (train 60k, test 10k)."""
    items, _ = _fashion(split, data_dir)
    return PairedData("fmnist-edges2items", torch.cat([edge_map(items), items], 1))


def fmnist_sneaker2boot(split: str, data_dir: str | None, **_: object) -> UnpairedData:
    """Unpaired: A = sneakers (class 7), B = ankle boots (class 9); 6,000 each in train."""
    images, labels = _fashion(split, data_dir)
    return UnpairedData(
        "fmnist-sneaker2boot",
        images[labels == SNEAKER].contiguous(),
        images_b=images[labels == ANKLE_BOOT].contiguous(),
        class_a=SNEAKER,
        class_b=ANKLE_BOOT,
    )
