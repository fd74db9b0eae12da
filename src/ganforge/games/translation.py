"""Pieces shared by the image-to-image games: batches of two domains, the image pool, grids."""

from __future__ import annotations

from typing import Any

import torch

from ganforge.data.batches import Batches
from ganforge.data.images import ImageData
from ganforge.errors import ConfigError, DataError


class UnpairedBatches:
    """Two independent endless streams: (A batch, B batch), each uint8 on the device.

    Each stream is a :class:`Batches` with its own seed, so its order is a pure function of
    (seed, epoch) and ``state_dict`` (both positions) resumes exactly.
    """

    def __init__(self, data: Any, batch_size: int, seed: int, device, rank=0, world_size=1):
        if getattr(data, "images_b", None) is None:
            raise DataError(
                f"game=cyclegan needs unpaired data (unpaired:PATH or fmnist-sneaker2boot), "
                f"got {data.name}"
            )
        self.a = Batches(data, batch_size, seed, device, rank, world_size)
        data_b = ImageData(data.name + ":B", data.images_b)
        self.b = Batches(data_b, batch_size, seed + 7919, device, rank, world_size)
        self.per_epoch = max(self.a.per_epoch, self.b.per_epoch)

    def __iter__(self):
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        return next(self.a)[0], next(self.b)[0]

    @property
    def epochs_done(self) -> float:
        return self.a.epochs_done

    def state_dict(self) -> dict[str, Any]:
        return {"a": self.a.state_dict(), "b": self.b.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.a.load_state_dict(state["a"])
        self.b.load_state_dict(state["b"])


class ImagePool:
    """A buffer of past generated images (Shrivastava et al. 2017; used by CycleGAN).

    While the pool holds fewer than ``size`` images each new image is stored and returned.
    Once full, each new image is, with probability 1/2, swapped for a uniformly chosen stored
    image (the stored one is returned, the new one takes its place), else returned as is. D
    then sees a history of G's outputs, which damps oscillation. ``size`` 0 disables it.
    """

    def __init__(self, size: int, seed: int = 0):
        self.size = size
        self.images: list[torch.Tensor] = []
        self.gen = torch.Generator().manual_seed(seed)

    def state_dict(self) -> dict[str, Any]:
        """The stored images (as one tensor) and the RNG, for an exact resume."""
        images = torch.cat(self.images) if self.images else torch.zeros(0)
        return {"images": images, "rng": self.gen.get_state()}

    def load_state_dict(self, state: dict[str, Any], channels_last: bool = False) -> None:
        images = state["images"]
        if channels_last and images.dim() == 4:
            images = images.contiguous(memory_format=torch.channels_last)
        self.images = [img.unsqueeze(0).clone() for img in images] if images.numel() else []
        self.gen.set_state(state["rng"])

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for img in images.detach():
            img = img.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            elif torch.rand((), generator=self.gen).item() < 0.5:
                i = int(torch.randint(self.size, (), generator=self.gen))
                out.append(self.images[i])
                self.images[i] = img.clone()
            else:
                out.append(img)
        return torch.cat(out)


def grid_source(data: ImageData, n: int = 16) -> dict[str, torch.Tensor]:
    """The first ``n`` images of each domain, for the fixed sample grid."""
    out = {"x": data.images[:n].clone()}
    if getattr(data, "images_b", None) is not None:
        out["y"] = data.images_b[:n].clone()
    return out


def no_latents(game: str) -> ConfigError:
    return ConfigError(
        f"a {game} run translates images and has no latent samples: use `ganforge translate RUN "
        "--input FILE|DIR --out DIR`"
    )
