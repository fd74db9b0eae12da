"""The divergence guard (``on_nan=stop``): a non-finite loss or weight stops the run.

The step of the first non-finite loss is kept on the device (no synchronisation per step) and
read at log intervals, checkpoints and the end; all ranks agree on it. The run then raises
:class:`~ganforge.training.outcome.Diverged` naming the last good checkpoint, which is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch

from ganforge.training import distributed
from ganforge.training.outcome import Diverged


class DivergenceGuard:
    """Watches the losses of every step; ``check`` raises Diverged when ``active``."""

    def __init__(self, dist: distributed.DistContext, device: torch.device, active: bool):
        self.dist, self.device, self.active = dist, device, active
        self.first_bad = torch.full((), -1, dtype=torch.long, device=device)

    def observe(self, step: int, *losses: torch.Tensor) -> None:
        """Record ``step`` if one of its losses is non-finite and none was before."""
        finite = torch.stack([torch.isfinite(v) for v in losses]).all()
        self.first_bad = torch.where(~finite & (self.first_bad < 0), step, self.first_bad)

    def bad_step(self) -> int:
        """The step of the first non-finite loss (-1: none), the same on every rank."""
        return int(distributed.agree(self.dist, [float(self.first_bad)], self.device)[0])

    def check(
        self, step: int, params: Iterable[torch.Tensor], last: Path | None, folder: Path | None
    ) -> None:
        """Diverged at a non-finite loss so far, or a non-finite weight now (``params``)."""
        if not self.active:
            return
        bad = self.bad_step()
        if bad < 0 and not all(torch.isfinite(p).all() for p in params):
            bad = step
        if bad >= 0:
            good = last.name if last else "none (no checkpoint yet)"
            raise Diverged(
                f"non-finite loss at step {bad}; stopped. Last good checkpoint: {good} in "
                f"{folder} (kept). Try a lower learning rate or --set on_nan=skip"
            )
