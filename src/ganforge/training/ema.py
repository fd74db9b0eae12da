"""Exponential moving average of generator weights (Yazıcı et al. 2019; Karras et al. 2018).

theta_ema <- beta_t * theta_ema + (1 - beta_t) * theta after every generator step, with the
warm-up beta_t = min(decay, (1 + t) / (10 + t)) so that short runs are not dominated by the
random initial weights.

BatchNorm statistics are *not* copied from the live generator: its running mean and variance
describe the live weights' activations, not the averaged weights', and sampling the EMA G with
them loses much of its quality (issue 16.3: 0.46 vs 0.79 high-quality samples on ring8).
Instead :meth:`EMA.standing_statistics` re-estimates them for the averaged weights ("standing
statistics", Brock et al. 2019, BigGAN, section 3): the statistics are reset, then
``batches`` train-mode forward passes of ``batch_size`` latents drawn from the prior are
averaged cumulatively (BatchNorm with ``momentum=None``), and the module is put back in eval
mode. The latents come from a generator seeded by the caller, so the result is a pure function
of the weights and the seed (resume stays exact). Cost: ``batches * batch_size`` generator
forwards without gradients (2,048 by default, about 0.3 s for the DCGAN G on 2 CPU cores),
paid only when the averaged weights changed since the last estimate and they are about to be
used (sample grid, evaluation, checkpoint).

Other buffers (the style generator's tracked average of w) are copied from the live
generator after every update, as the StyleGAN reference code does for its G_ema.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

# seed offset of the latents of standing statistics: their own stream, never training's
STANDING_STATS_SEED = 977_000
# draw(n, generator) -> a batch of generator inputs drawn from the prior
InputSampler = Callable[[int, torch.Generator], torch.Tensor]


def batch_norms(module: nn.Module) -> list[_BatchNorm]:
    """The BatchNorm layers of ``module`` that keep running statistics."""
    return [m for m in module.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]


class EMA:
    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.updates = 0
        self.module = copy.deepcopy(model).eval()
        self.module.requires_grad_(False)
        self._src = [p for p in model.parameters()]
        self._dst = [p for p in self.module.parameters()]
        self._norms = batch_norms(self.module)
        # buffers other than BatchNorm statistics (StyleGAN's tracked w average) are copied
        # from the live G after every update, as the reference does (its copy_buffers)
        pairs = [
            (src, dst)
            for m_src, m_dst in zip(model.modules(), self.module.modules(), strict=True)
            if not isinstance(m_src, _BatchNorm)
            for src, dst in zip(
                m_src.buffers(recurse=False), m_dst.buffers(recurse=False), strict=True
            )
        ]
        self._buf_src = [src for src, _ in pairs]
        self._buf_dst = [dst for _, dst in pairs]
        self._estimated_at: int | None = None  # ``updates`` when the statistics were estimated

    @property
    def has_batch_norm(self) -> bool:
        return bool(self._norms)

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        beta = min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        torch._foreach_lerp_(self._dst, self._src, 1.0 - beta)
        if self._buf_dst:
            torch._foreach_copy_(self._buf_dst, self._buf_src)

    @torch.no_grad()
    def standing_statistics(
        self, draw: InputSampler, seed: int, batches: int = 16, batch_size: int = 128
    ) -> None:
        """Re-estimate the BatchNorm statistics of the averaged weights (no-op without
        BatchNorm, or when the weights have not changed since the last estimate)."""
        if not self._norms or self._estimated_at == self.updates:
            return
        momenta = [m.momentum for m in self._norms]
        for m in self._norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batches below
        gen = torch.Generator().manual_seed(seed)
        self.module.train()
        try:
            for _ in range(batches):
                self.module(draw(batch_size, gen))
        finally:
            for m, momentum in zip(self._norms, momenta, strict=True):
                m.momentum = momentum
            self.module.eval()
        self._estimated_at = self.updates

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor], updates: int = 0) -> None:
        self.module.load_state_dict(state)
        self.updates = updates
        self._estimated_at = updates if self._norms else None  # saved statistics are current
