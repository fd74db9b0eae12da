"""BigGAN's adversarial game (Brock et al. 2019, Large Scale GAN Training for High Fidelity
Natural Image Synthesis, arXiv:1809.11096): the composed adversarial game plus

- the orthogonal regulariser on G, + beta sum_W ||(W W^T) * (1 - I)||_F^2 in G's loss
  (:func:`ganforge.penalties.orthogonal_regulariser`, beta = ``ortho_weight``) over every
  weight matrix and conv filter bank of G except the shared class embedding (as the authors'
  code leaves it out), taken on the raw weights under spectral norm;
- the truncation trick at sampling: z ~ N(0, I) with every entry whose magnitude exceeds the
  threshold t resampled until none does (a truncated normal); t trades variety for fidelity.
"""

from __future__ import annotations

from typing import Any

import torch

from ganforge import penalties
from ganforge.errors import ConfigError
from ganforge.games.adversarial import AdversarialGame
from ganforge.games.base import Logs

MAX_ROUNDS = 10_000  # resampling rounds before a threshold is called too small


def truncated_normal(z: torch.Tensor, threshold: float, generator: torch.Generator) -> torch.Tensor:
    """``z`` with exactly its entries of |z| > ``threshold`` redrawn from N(0, 1), round after
    round, until none is; the others keep their bytes. Draws come from ``generator`` (on the
    CPU) in a fixed order, so the result is a function of (z, threshold, seed)."""
    if not threshold > 0:
        raise ConfigError(f"bad truncation {threshold}: the threshold on |z| must be > 0")
    out = z.detach().cpu().clone()
    bad = out.abs() > threshold
    for _ in range(MAX_ROUNDS):
        n = int(bad.sum())
        if n == 0:
            return out.to(z.device)
        out[bad] = torch.randn(n, generator=generator, dtype=out.dtype)
        bad = out.abs() > threshold
    raise ConfigError(f"truncation {threshold} is too small to sample: use 0.05 or more")


class BigGANGame(AdversarialGame):
    """AdversarialGame + orthogonal regularisation of G + the z truncation trick."""

    def __init__(self, cfg, data_shape, num_classes: int = 0, shard=(0, 1)):
        super().__init__(cfg, data_shape, num_classes, shard)
        shared = self.G.shared  # arch=biggan's ResGenerator: its class embedding (or None)
        self.ortho_weights = [p for p in self.G.parameters() if p.dim() >= 2 and p is not shared]

    def g_loss(self, batch: Any, step: int, fakes: Any = None) -> tuple[torch.Tensor, Logs]:
        loss, logs = super().g_loss(batch, step, fakes)
        if self.cfg.ortho_weight:
            value = penalties.orthogonal_regulariser(self.ortho_weights)
            logs["ortho"] = value.detach()
            loss = loss + self.cfg.ortho_weight * value
        return loss, logs

    def truncate(
        self, inputs: dict[str, torch.Tensor], value: float, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """``inputs`` with z truncated at |z| <= ``value`` by resampling (labels unchanged)."""
        return {**inputs, "z": truncated_normal(inputs["z"], value, generator)}
