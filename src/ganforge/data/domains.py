"""Built-in many-domain tasks (StarGAN) cut from Fashion-MNIST (Xiao et al. 2017,
arXiv:1708.07747): every image of the chosen classes, its label renumbered 0..K-1 in the order
below, the domain names short enough for ``ganforge translate --to NAME``.

- ``fmnist-tops``: T-shirt/top, pullover, coat, shirt (4 domains; 24,000 train / 4,000 test);
- ``fmnist-shoes``: sandal, sneaker, ankle boot (3 domains; 18,000 train / 3,000 test).

``DOMAIN_TASKS`` maps a task to its (domain name, Fashion-MNIST class) pairs, so evaluation can
ask the shipped Fashion-MNIST classifier which domain a translated image belongs to.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ganforge.data import sources
from ganforge.data.images import ImageData

DOMAIN_TASKS: dict[str, tuple[tuple[str, int], ...]] = {
    "fmnist-tops": (("t-shirt", 0), ("pullover", 2), ("coat", 4), ("shirt", 6)),
    "fmnist-shoes": (("sandal", 5), ("sneaker", 7), ("ankle-boot", 9)),
}


def domain_loader(task: str) -> Callable[..., ImageData]:
    """The catalog loader ``(split, data_dir) -> ImageData`` of a built-in domain task."""
    pairs = DOMAIN_TASKS[task]

    def load(split: str, data_dir: str | None, **_: object) -> ImageData:
        images, labels = sources.load_idx_split(sources.FASHION_MNIST, split, data_dir)
        images, labels = torch.from_numpy(images[:, None].copy()), torch.from_numpy(labels)
        classes = torch.tensor([c for _, c in pairs])
        keep = torch.isin(labels, classes)
        remap = torch.full((10,), -1, dtype=torch.int64)
        remap[classes] = torch.arange(len(pairs))
        names = tuple(name for name, _ in pairs)
        return ImageData(
            task, images[keep].contiguous(), remap[labels[keep].long()], len(pairs), names
        )

    load.__doc__ = f"``{task}``: Fashion-MNIST classes {[c for _, c in pairs]} as domains."
    return load


def fashion_classes(task: str) -> tuple[int, ...] | None:
    """The Fashion-MNIST class of each domain of a built-in task; None for other datasets."""
    pairs = DOMAIN_TASKS.get(task)
    return tuple(c for _, c in pairs) if pairs else None


def builtin_domain_names(task: str) -> tuple[str, ...]:
    """The domain names of a built-in task, in label order; () for other datasets."""
    return tuple(name for name, _ in DOMAIN_TASKS.get(task, ()))
