"""The one registry of datasets: names and ``prefix:PATH`` sources -> :class:`ImageData`.

``DATASETS`` maps a name to a loader ``(split, data_dir) -> ImageData``; ``PREFIXED`` maps a
prefix to a loader ``(path, split=..., image_size=..., channels=..., skip_bad=...)`` that reads
the path at the asked size itself. Named datasets have their labels checked and are then resized
or converted to the asked side and channels (:meth:`ImageData.adapt`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ganforge.data import builtin, domains, paired, sources, superres
from ganforge.data.folder import load_folder
from ganforge.data.images import ImageData, check_labels
from ganforge.errors import DataError


def _folder(
    path: str,
    split: str,
    image_size: int = 0,
    channels: int = 0,
    skip_bad: bool = False,
    **_: object,
) -> ImageData:
    """``folder:PATH``: every image under PATH (64 px RGB unless asked), no labels."""
    images, skipped = load_folder(path, image_size or 64, channels or 3, skip_bad=skip_bad)
    return ImageData(f"folder:{path}", torch.from_numpy(images), skipped=skipped)


DATASETS: dict[str, Callable[..., ImageData]] = {
    "fashion-mnist": builtin.idx_loader("fashion-mnist", builtin.FASHION_CLASSES),
    "mnist": builtin.idx_loader("mnist", builtin.DIGIT_CLASSES),
    "mnist5k": builtin.load_mnist5k,
    "digits": builtin.load_uci_digits,
    "fmnist-edges2items": paired.fmnist_edges2items,
    "fmnist-sneaker2boot": paired.fmnist_sneaker2boot,
    **{task: domains.domain_loader(task) for task in domains.DOMAIN_TASKS},
    "fmnist-sr4": superres.fmnist_sr4,
    "fmnist-sr2": superres.fmnist_sr2,
}

PREFIXED: dict[str, Callable[..., ImageData]] = {
    "folder": _folder,
    "paired": paired.load_paired,
    "unpaired": paired.load_unpaired,
    "sr4": superres.sr4_folder,
    "sr2": superres.sr2_folder,
}


def dataset_names() -> list[str]:
    """The names ``load_dataset`` accepts, prefixed sources as ``prefix:PATH``."""
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
    return data.adapt(image_size, channels)
