"""The self-attention block of SAGAN as its authors' code builds it (Zhang et al. 2019,
Self-Attention Generative Adversarial Networks, arXiv:1805.08318, section 3).

For features x (B, C, H, W) with N = HW positions:

    f(x) = W_f x  (query, C/8 channels, at every position i)
    g(x) = maxpool2(W_g x)  (key, C/8 channels, at N/4 pooled positions j)
    h(x) = maxpool2(W_h x)  (value, C/2 channels)
    beta_ij = softmax_j(f(x_i)^T g(x_j))   (each query's weights over the keys sum to 1)
    o_i = W_v sum_j beta_ij h(x_j)   (W_v: C/2 -> C)
    y = x + gamma o,   gamma a learned scalar initialised to 0

The 2x2 max-pooling of keys and values (the official code's ``sn_non_local_block_sim``) cuts
the attention matrix to N x N/4. 1x1 convolutions without bias; spectral norm is applied by
the network builder with the rest of the layers. gamma = 0 makes the block the identity at
the start of training; the network learns to lean on non-local evidence as gamma grows.

``record = True`` keeps the last forward's weights ``beta`` (B, N, M) in ``last_weights`` and
the query and key maps' sides in ``last_grid`` and ``last_size``, for the attention-map view;
training never sets it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SelfAttention2d(nn.Module):
    """y = x + gamma W_v softmax(f(x)^T g(x)) h(x), keys and values max-pooled 2x2."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        qk, v = max(channels // 8, 1), max(channels // 2, 1)
        self.query = nn.Conv2d(channels, qk, 1, bias=False)
        self.key = nn.Conv2d(channels, qk, 1, bias=False)
        self.value = nn.Conv2d(channels, v, 1, bias=False)
        self.out = nn.Conv2d(v, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))
        self.record = False
        self.last_weights: torch.Tensor | None = None
        self.last_grid: tuple[int, int] = (0, 0)  # the recorded queries' map (h, w)
        self.last_size: tuple[int, int] = (0, 0)  # the recorded keys' pooled map (h', w')

    @staticmethod
    def _pool(t: torch.Tensor) -> torch.Tensor:
        # odd maps (7x7 of a 28 px image) keep their last row/column by ceil mode
        return F.max_pool2d(t, 2, ceil_mode=True) if min(t.shape[-2:]) > 1 else t

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """beta (B, N, M): softmax over the M pooled keys of each of the N query positions."""
        q = self.query(x).flatten(2).transpose(1, 2)  # (B, N, C/8)
        k = self._pool(self.key(x)).flatten(2)  # (B, C/8, M)
        return torch.softmax(q @ k, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        beta = self.weights(x)
        if self.record:
            self.last_weights = beta.detach()
            pooled = self._pool(x[:1, :1])
            self.last_grid = (h, w)
            self.last_size = (int(pooled.shape[-2]), int(pooled.shape[-1]))
        v = self._pool(self.value(x)).flatten(2)  # (B, C/2, M)
        o = (v @ beta.transpose(1, 2)).reshape(b, -1, h, w)  # (B, C/2, H, W)
        return x + self.gamma * self.out(o)


def attention_blocks(module: nn.Module) -> list[SelfAttention2d]:
    """The SAGAN attention blocks inside ``module`` (found by type), in forward order."""
    return [m for m in module.modules() if isinstance(m, SelfAttention2d)]


__all__ = ["SelfAttention2d", "attention_blocks"]
