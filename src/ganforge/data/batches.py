"""Fast batches from an in-memory uint8 dataset: shuffled per epoch, scaled per batch.

The order is a pure function of (seed, epoch), so the position ``(epoch, index)`` is all a
checkpoint needs to resume the exact data order; with several processes each rank takes its
strided shard of the same permutation.
"""

from __future__ import annotations

import torch

from ganforge.data.images import ImageData


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1] (the tanh range of the generators)."""
    return images.float().mul_(2.0 / 255.0).sub_(1.0)


def from_unit_range(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255]."""
    return images.detach().float().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)


class Batches:
    """Endless iterator of (images uint8 on device, labels or None), epoch-shuffled, drop_last."""

    def __init__(
        self,
        data: ImageData,
        batch_size: int,
        seed: int,
        device: torch.device | str,
        rank: int = 0,
        world_size: int = 1,
    ):
        n_local = len(data) // world_size
        if batch_size > n_local:
            from ganforge.errors import DataError

            raise DataError(
                f"batch size {batch_size} is larger than the dataset ({n_local} images per process)"
            )
        self.device = torch.device(device)
        self.images = data.images.to(self.device)
        self.labels = data.labels.to(self.device) if data.labels is not None else None
        self.batch_size, self.seed = batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.per_epoch = n_local // batch_size
        self.epoch, self.index = 0, 0
        self._perm: torch.Tensor | None = None

    def _permutation(self) -> torch.Tensor:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        perm = torch.randperm(self.images.shape[0], generator=gen)
        return perm[self.rank :: self.world_size].to(self.device)

    def __iter__(self):
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.index >= self.per_epoch:
            self.epoch, self.index, self._perm = self.epoch + 1, 0, None
        if self._perm is None:
            self._perm = self._permutation()
        idx = self._perm[self.index * self.batch_size : (self.index + 1) * self.batch_size]
        self.index += 1
        labels = self.labels[idx] if self.labels is not None else None
        return self.images[idx], labels

    @property
    def epochs_done(self) -> float:
        return self.epoch + self.index / self.per_epoch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "index": self.index}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.index, self._perm = int(state["epoch"]), int(state["index"]), None
