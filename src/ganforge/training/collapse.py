"""Detecting a collapsed generator from the fixed sample batch.

A collapsed G draws (nearly) the same image for every latent: the per-pixel standard deviation
across the fixed batch falls far below the data's. :func:`diversity` is that ratio (1 = as varied
as the data, 0 = every sample identical); :class:`CollapseWatch` turns a run of low values into
one warning line, so a run that produces one grey tile says so instead of failing silently
(issue 24, item 3).
"""

from __future__ import annotations

import torch

THRESHOLD = 0.25  # diversity below this is a collapse (healthy runs measured 0.5-1.1)
PATIENCE = 2  # consecutive low measurements before warning
START = 100  # grids before this step are not judged: an untrained G is not yet varied


def pixel_spread(images: torch.Tensor) -> float:
    """Mean over pixels and channels of the standard deviation across the batch (dim 0)."""
    x = images.detach().float().flatten(1)
    if x.shape[0] < 2:
        return 0.0
    return float(x.std(0, unbiased=False).mean())


def diversity(samples: torch.Tensor, real: torch.Tensor) -> float:
    """``pixel_spread(samples) / pixel_spread(real)``, both in the same units ([-1, 1])."""
    ref = pixel_spread(real)
    return pixel_spread(samples) / ref if ref > 0 else float("inf")


class CollapseWatch:
    """Feeds on the fixed batch at each sample/log interval; warns once on a lasting collapse."""

    def __init__(
        self,
        real: torch.Tensor,
        threshold: float = THRESHOLD,
        patience: int = PATIENCE,
        start: int = START,
    ):
        self.ref = pixel_spread(real)
        self.threshold, self.patience, self.start = threshold, patience, start
        self.low, self.warned = 0, False
        self.last: float | None = None

    def check(self, samples: torch.Tensor, step: int) -> str | None:
        """The warning line the first time diversity has stayed low ``patience`` times."""
        if self.ref <= 0 or step < self.start:  # a constant dataset: nothing to compare with
            return None
        self.last = pixel_spread(samples) / self.ref
        self.low = self.low + 1 if self.last < self.threshold else 0
        if self.warned or self.low < self.patience:
            return None
        self.warned = True
        return (
            f"ganforge: warning: G seems collapsed at step {step}: its samples vary "
            f"{self.last:.2f}x as much as the data (below {self.threshold}); check samples/, "
            "and try a lower lr_d (e.g. --set lr_d=1e-4), another recipe "
            "(wgan-gp, hinge-sn) or more images"
        )


def watch_for(batches: object, samples: torch.Tensor) -> CollapseWatch | None:
    """A CollapseWatch on up to 512 of the training images that ``batches`` holds; None
    where the data are not images like the samples (toy points, image-to-image pairs)."""
    data = getattr(batches, "images", None)  # a data property, not a game's: any loader
    if not isinstance(data, torch.Tensor) or data.dim() != 4:
        return None
    if tuple(data.shape[1:]) != tuple(samples.shape[1:]):
        return None
    real = data[:512].float()
    if not data.is_floating_point():
        real = real.mul(2.0 / 255.0).sub(1.0)
    return CollapseWatch(real)
