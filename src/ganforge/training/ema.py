"""Exponential moving average of generator weights (Yazıcı et al. 2019; Karras et al. 2018).

theta_ema <- beta_t * theta_ema + (1 - beta_t) * theta after every generator step, with the
warm-up beta_t = min(decay, (1 + t) / (10 + t)) so that short runs are not dominated by the
random initial weights. Buffers
(BatchNorm running statistics) are copied, so the EMA generator samples correctly in eval mode.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.updates = 0
        self.module = copy.deepcopy(model).eval()
        self.module.requires_grad_(False)
        self._src = [p for p in model.parameters()]
        self._dst = [p for p in self.module.parameters()]
        self._src_buf = [b for b in model.buffers()]
        self._dst_buf = [b for b in self.module.buffers()]

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        beta = min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        torch._foreach_lerp_(self._dst, self._src, 1.0 - beta)
        for d, s in zip(self._dst_buf, self._src_buf, strict=True):
            d.copy_(s)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor], updates: int = 0) -> None:
        self.module.load_state_dict(state)
        self.updates = updates
