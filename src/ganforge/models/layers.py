"""Small building blocks shared by the architectures: normalisation, init, attention, SN."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from ganforge.errors import ConfigError


def norm2d(kind: str, channels: int) -> nn.Module:
    """Normalisation for (B, C, H, W) features.

    ``layer`` is LayerNorm over (C, H, W) with a per-channel affine (GroupNorm with one group),
    the choice of Gulrajani et al. (2017) for gradient-penalty critics.
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels)  # eps and momentum at their defaults (not 0.8!)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"bad norm {kind!r}: allowed values are batch, layer, instance, none")


@contextlib.contextmanager
def frozen_batch_statistics(module: nn.Module) -> Iterator[None]:
    """Forwards inside leave every BatchNorm's running statistics as they are (momentum 0)
    while still normalising with the batch's own statistics in train mode: for an extra
    forward of the same batch (a regulariser's), which must not count that batch twice."""
    tracked = [
        m
        for m in module.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]
    saved = [(m.momentum, m.num_batches_tracked.clone()) for m in tracked]
    for m in tracked:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (momentum, count) in zip(tracked, saved, strict=True):
            m.momentum = momentum
            m.num_batches_tracked.copy_(count)


def norm1d(kind: str, features: int) -> nn.Module:
    """Normalisation for (B, F) features (MLPs); instance norm has no meaning there."""
    if kind == "batch":
        return nn.BatchNorm1d(features)
    if kind == "layer":
        return nn.LayerNorm(features)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"bad norm {kind!r} for an MLP: allowed values are batch, layer, none")


def dcgan_init(module: nn.Module) -> None:
    """Radford et al. (2016): weights ~ N(0, 0.02); BatchNorm scale ~ N(1, 0.02), shifts 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear | nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) on every conv and linear weight.

    Uses torch's parametrisation: W / sigma(W), sigma estimated by one power iteration per
    forward in training mode.
    """
    from torch.nn.utils.parametrizations import spectral_norm

    for name, child in list(module.named_children()):
        if isinstance(child, nn.Conv2d | nn.ConvTranspose2d | nn.Linear | nn.Embedding):
            setattr(module, name, spectral_norm(child))
        else:
            apply_spectral_norm(child)
    return module


class SelfAttention(nn.Module):
    """Self-attention block of SAGAN (Zhang et al. 2019): x + gamma * softmax(QK^T) V.

    ``gamma`` starts at 0 so the block begins as the identity.
    """

    def __init__(self, channels: int):
        super().__init__()
        inner = max(channels // 8, 1)
        self.query = nn.Conv2d(channels, inner, 1)
        self.key = nn.Conv2d(channels, inner, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # (B, HW, C')
        k = self.key(x).flatten(2)  # (B, C', HW)
        attn = torch.softmax(q @ k, dim=-1)  # (B, HW, HW)
        v = self.value(x).flatten(2)  # (B, C, HW)
        out = (v @ attn.transpose(1, 2)).view(b, c, h, w)
        return x + self.gamma * out


class _FlattenKeepFormat(torch.autograd.Function):
    """x.flatten(1) whose gradient comes back in x's memory format (channels_last or not)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.shape = x.shape
        ctx.channels_last = (
            x.dim() == 4
            and not x.is_contiguous()
            and x.is_contiguous(memory_format=torch.channels_last)
        )
        return x.reshape(x.shape[0], -1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.reshape(ctx.shape)  # differentiable, so double backward (penalties) works
        return grad.contiguous(memory_format=torch.channels_last) if ctx.channels_last else grad


class Flatten(nn.Module):
    """``nn.Flatten()`` (NCHW order, so weights are interchangeable) for conv features whose
    gradient keeps the input's memory format. With ``nn.Flatten`` a channels_last map gets an
    NCHW gradient, and every elementwise backward below it (LeakyReLU, BatchNorm) then mixes
    formats, which on CPU is 10-25x slower than either format alone."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _FlattenKeepFormat.apply(x)
