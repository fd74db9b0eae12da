"""DiffAugment: differentiable augmentations of every discriminator input.

Zhao, Liu, Lin, Zhu & Han 2020, "Differentiable Augmentation for Data-Efficient GAN Training"
(arXiv:2006.10738). D is trained on T(x) and T(G(z)) for random transformations T drawn
afresh for every sample and every forward pass, and G's loss is taken through the same T, so
T must be differentiable in its input: D cannot memorise a small training set, and G is not
pushed to reproduce the augmentation (T is applied to real and fake alike, never to the data
set alone). The three policies of the paper, on images (B, C, H, W) in [-1, 1]:

- ``color``: brightness x + (u - 1/2); saturation m_c + 2u (x - m_c), m_c the mean over
  channels of each pixel; contrast m + (u + 1/2)(x - m), m the image's mean; u ~ U[0, 1]
  drawn per sample for each of the three.
- ``translation``: a shift of each image by integers (dx, dy) ~ U{-s, ..., s}, s = round(H/8)
  (and W/8), the uncovered border filled with zeros.
- ``cutout``: one square of side round(H/2) x round(W/2) at a uniformly random centre set to
  zero (clipped at the border).

A policy is a comma-separated list of these names, applied in the order given.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ganforge.errors import ConfigError

Augmentation = Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]
TRANSLATION_RATIO = 1 / 8  # the paper's maximal shift, as a fraction of the side
CUTOUT_RATIO = 1 / 2  # the paper's cutout side, as a fraction of the side


def _uniform(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """u ~ U[0, 1] per sample, shaped to broadcast over (C, H, W)."""
    return torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype, generator=generator)


def color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random brightness, saturation and contrast, each with its own u per sample."""
    x = x + (_uniform(x, generator) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_uniform(x, generator) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, generator) + 0.5) + mean


def _shifts(
    n: int, side: int, ratio: float, device: torch.device, generator: torch.Generator | None
) -> torch.Tensor:
    s = int(side * ratio + 0.5)
    return torch.randint(-s, s + 1, (n, 1, 1), device=device, generator=generator)


def translation(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """out[b, :, i, j] = x[b, :, i + dy_b, j + dx_b] where that pixel exists, else 0."""
    b, _, h, w = x.shape
    dy = _shifts(b, h, TRANSLATION_RATIO, x.device, generator)
    dx = _shifts(b, w, TRANSLATION_RATIO, x.device, generator)
    rows = torch.arange(h, device=x.device).view(1, h, 1) + dy  # (B, H, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w) + dx  # (B, 1, W)
    inside = ((rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)).unsqueeze(1)  # (B, 1, H, W)
    flat = rows.clamp(0, h - 1) * w + cols.clamp(0, w - 1)  # (B, H, W) source index
    index = flat.reshape(b, 1, h * w).expand(-1, x.shape[1], -1)
    moved = x.reshape(b, x.shape[1], h * w).gather(2, index).reshape(x.shape)
    return moved * inside.to(x.dtype)


def cutout(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero one square of side round(H/2) x round(W/2) per image, centred uniformly at random
    (the square may reach over the border, as in the paper)."""
    b, _, h, w = x.shape
    size_h, size_w = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    cy = torch.randint(0, h + (1 - size_h % 2), (b, 1, 1), device=x.device, generator=generator)
    cx = torch.randint(0, w + (1 - size_w % 2), (b, 1, 1), device=x.device, generator=generator)
    top, left = cy - size_h // 2, cx - size_w // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    hole = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)
    return x * (~hole).unsqueeze(1).to(x.dtype)


POLICIES: dict[str, Augmentation] = {
    "color": color,
    "translation": translation,
    "cutout": cutout,
}


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"color,translation"`` -> ("color", "translation"); "" -> () (no augmentation).

    Raises a one-line ConfigError naming the allowed policies on an unknown or repeated name.
    """
    if not policy.strip():
        return ()
    names = tuple(part.strip() for part in policy.split(","))
    for name in names:
        if name not in POLICIES:
            raise ConfigError(
                f"bad policy {name!r} in 'augment': allowed policies are "
                f"{', '.join(POLICIES)} (comma-separated, e.g. color,translation,cutout)"
            )
    if len(set(names)) != len(names):
        raise ConfigError(f"bad value {policy!r} for 'augment': a policy is named twice")
    return names


def diff_augment(
    x: torch.Tensor, policy: str | tuple[str, ...], generator: torch.Generator | None = None
) -> torch.Tensor:
    """T(x) for images x (B, C, H, W): the policy's augmentations in order, each with fresh
    random parameters per sample, all differentiable in x. The identity for an empty policy."""
    names = parse_policy(policy) if isinstance(policy, str) else policy
    if names and x.dim() != 4:
        raise ConfigError(
            f"augment works on images (N, C, H, W); these samples have shape {tuple(x.shape[1:])}"
        )
    for name in names:
        x = POLICIES[name](x, generator)
    return x
