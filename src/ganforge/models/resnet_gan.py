"""Residual generator and discriminator of SAGAN and BigGAN, with class-conditional BatchNorm.

- Conditional BN (de Vries et al. 2017; Miyato & Koyama 2018; used by SAGAN, arXiv:1805.08318,
  and BigGAN, arXiv:1809.11096): y = BN(x) (1 + W_g c + b_g) + (W_b c + b_b), BN without its
  own affine, c the block's conditioning vector. SAGAN: c = one-hot(y), so each class has its
  own gain and bias. BigGAN: c = [z_i, e(y)], the block's chunk z_i of the hierarchical
  latent and a class embedding e shared by all blocks. Without labels and without a
  hierarchical latent, c is empty and the layer is plain BN with a learned affine.
- Hierarchical latent (BigGAN, section 3): z is split into one chunk per block plus one for the
  first linear layer, so every resolution is driven directly by its part of z.
- G: linear -> (C0, b, b) -> up-blocks [CBN, ReLU, up 2x, conv3x3, CBN, ReLU, conv3x3] + the
  shortcut (up 2x, conv1x1) -> BN, ReLU, conv3x3, tanh. D: down-blocks (the first
  conv-first with a pooled shortcut; Miyato et al. 2018, SN-GAN's ResNet) and one block
  without pooling -> ReLU -> sum over positions -> linear. One self-attention block
  (:class:`SelfAttention2d`) in each, after the block whose maps are closest to
  ``attention_fraction`` of the image side (SAGAN's 32 px maps of 128 px images: 1/4).

The generator takes one tensor (B, z_dim + K): z, then the one-hot label of the game's input
(K = 0 unconditional); a linear map of a one-hot vector is an embedding lookup, so the class
embeddings live here and sampling, EMA standing statistics and export need nothing new.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError
from ganforge.models.attention import SelfAttention2d
from ganforge.models.layers import apply_spectral_norm


class ConditionalBatchNorm2d(nn.Module):
    """BN(x) * (1 + W_g c + b_g) + (W_b c + b_b); W_g, W_b ~ N(0, 0.02), biases 0."""

    def __init__(self, channels: int, cond_dim: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain_weight = nn.Parameter(torch.randn(channels, cond_dim) * 0.02)
        self.gain_bias = nn.Parameter(torch.zeros(channels))
        self.bias_weight = nn.Parameter(torch.randn(channels, cond_dim) * 0.02)
        self.bias_bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        gain = 1 + F.linear(c, self.gain_weight, self.gain_bias)
        bias = F.linear(c, self.bias_weight, self.bias_bias)
        return self.bn(x) * gain[:, :, None, None] + bias[:, :, None, None]


class UpBlock(nn.Module):
    """Residual up-block: [CBN, ReLU, up, conv3x3, CBN, ReLU, conv3x3] + conv1x1(up(x))."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int):
        super().__init__()
        self.bn1 = ConditionalBatchNorm2d(c_in, cond_dim)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.bn2 = ConditionalBatchNorm2d(c_out, cond_dim)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x, c)), scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h), c)))
        return h + self.skip(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DownBlock(nn.Module):
    """Residual down-block: [ReLU, conv3x3, ReLU, conv3x3, avgpool] + avgpool(conv1x1(x)); the
    first block starts with the convolution (no ReLU on the image) and pools before its
    shortcut's convolution (SN-GAN's optimized block)."""

    def __init__(self, c_in: int, c_out: int, down: bool, first: bool):
        super().__init__()
        self.down, self.first = down, first
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1)

    def _pool(self, t: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(t, 2) if self.down else t

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x if self.first else F.relu(x))
        h = self._pool(self.conv2(F.relu(h)))
        skip = self.skip(self._pool(x)) if self.first else self._pool(self.skip(x))
        return h + skip


def plan(size: int) -> tuple[int, int]:
    """(base side b, number of 2x blocks n) with size = b 2^n and b >= 4 as small as possible:
    28 px -> (7, 2), 32 -> (4, 3), 64 -> (4, 4)."""
    base, n = size, 0
    while base % 2 == 0 and base // 2 >= 4:
        base, n = base // 2, n + 1
    return base, n


def attention_index(sides: list[int], size: int, fraction: float) -> int:
    """Index of the block after which attention sits: the one whose output side is closest to
    ``fraction * size`` (-1: no attention, fraction 0)."""
    if fraction <= 0:
        return -1
    target = fraction * size
    return min(range(len(sides)), key=lambda i: (abs(sides[i] - target), i))


class ResGenerator(nn.Module):
    """(B, z_dim + K) -> (B, channels, size, size) in [-1, 1]; see the module docstring."""

    def __init__(
        self,
        z_dim: int,
        num_classes: int,
        channels: int,
        size: int,
        width: int,
        attention_fraction: float,
        hierarchical: bool = False,
        shared_dim: int = 0,
    ):
        super().__init__()
        self.z_dim, self.num_classes = z_dim, num_classes
        self.hierarchical = hierarchical
        base, n = plan(size)
        self.base, self.n_blocks = base, n
        if hierarchical and z_dim < n + 1:
            raise ConfigError(f"biggan needs z_dim >= {n + 1} (one chunk per block + 1)")
        # hierarchical z: chunk 0 to the linear layer, chunk i+1 to block i
        sizes = [len(c) for c in torch.tensor_split(torch.arange(z_dim), n + 1)]
        self.chunk_sizes = sizes if hierarchical else [z_dim]
        first_in = self.chunk_sizes[0]
        # a shared class embedding (BigGAN) as a bare matrix: no spectral norm, as in BigGAN
        self.shared = (
            nn.Parameter(torch.randn(num_classes, shared_dim))
            if num_classes and shared_dim
            else None
        )
        label_dim = (shared_dim if shared_dim else num_classes) if num_classes else 0
        widths = [width * 2 ** (n - i) for i in range(n + 1)]
        self.stem = nn.Linear(first_in, widths[0] * base * base)
        self.blocks = nn.ModuleList()
        for i in range(n):
            chunk = self.chunk_sizes[i + 1] if hierarchical else 0
            self.blocks.append(UpBlock(widths[i], widths[i + 1], chunk + label_dim))
        sides = [base * 2 ** (i + 1) for i in range(n)]
        self.attn_at = attention_index(sides, size, attention_fraction) if n else -1
        self.attention = SelfAttention2d(widths[self.attn_at + 1]) if self.attn_at >= 0 else None
        self.out_bn = nn.BatchNorm2d(widths[-1])
        self.out_conv = nn.Conv2d(widths[-1], channels, 3, padding=1)

    def conditions(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(the stem's input, the conditioning vector of each block) for G's input ``x``."""
        z, onehot = x[:, : self.z_dim], x[:, self.z_dim :]
        label = onehot @ self.shared if self.shared is not None else onehot
        if not self.hierarchical:
            return z, [label] * self.n_blocks
        parts = z.split(self.chunk_sizes, 1)
        return parts[0], [torch.cat([p, label], 1) for p in parts[1:]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stem_in, conds = self.conditions(x)
        h = self.stem(stem_in).view(x.shape[0], -1, self.base, self.base)
        for i, (block, c) in enumerate(zip(self.blocks, conds, strict=True)):
            h = block(h, c)
            if i == self.attn_at:
                h = self.attention(h)
        return torch.tanh(self.out_conv(F.relu(self.out_bn(h))))


class ResDiscriminator(nn.Module):
    """(B, C, size, size) -> logits (B,); ``features`` = sum over positions of ReLU(h)."""

    def __init__(self, channels: int, size: int, width: int, attention_fraction: float):
        super().__init__()
        _, n = plan(size)
        widths = [channels] + [width * 2**i for i in range(max(n, 1))]
        self.blocks = nn.ModuleList(
            DownBlock(widths[i], widths[i + 1], True, i == 0) for i in range(max(n, 1))
        )
        self.blocks.append(DownBlock(widths[-1], widths[-1], False, False))
        sides = [size // 2 ** (i + 1) for i in range(max(n, 1))] + [size // 2 ** max(n, 1)]
        self.attn_at = attention_index(sides, size, attention_fraction)
        at = min(self.attn_at + 1, len(widths) - 1)  # the last block keeps its width
        self.attention = SelfAttention2d(widths[at]) if self.attn_at >= 0 else None
        self.feature_dim = widths[-1]
        self.head = nn.Linear(self.feature_dim, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == self.attn_at:
                h = self.attention(h)
        return F.relu(h).sum((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)


def init_weights(module: nn.Module, kind: str) -> nn.Module:
    """Conv and linear weights: orthogonal (BigGAN) or Xavier-uniform (SAGAN's TF default)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            (nn.init.orthogonal_ if kind == "orthogonal" else nn.init.xavier_uniform_)(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def _image(shape: tuple[int, ...], arch: str) -> tuple[int, int]:
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ConfigError(f"arch={arch} needs square images (C, S, S), got shape {tuple(shape)}")
    if plan(shape[-1])[1] == 0:
        raise ConfigError(
            f"arch={arch} needs an image side of 8 px or more with a factor 2 "
            f"(got {shape[-1]}): set --image-size 32"
        )
    return shape[0], shape[-1]


def _generator(cfg, in_dim: int, out_shape: tuple[int, ...], big: bool) -> nn.Module:
    c, size = _image(out_shape, cfg.arch)
    G = ResGenerator(
        cfg.z_dim,
        in_dim - cfg.z_dim,  # the one-hot labels after z (0: unconditional)
        c,
        size,
        cfg.g_width,
        cfg.attention_fraction,
        hierarchical=big,
        shared_dim=cfg.shared_dim if big else 0,
    )
    init_weights(G, "orthogonal" if big else "xavier")
    return apply_spectral_norm(G) if cfg.spectral_norm else G  # SAGAN and BigGAN: SN in G too


def _discriminator(cfg, in_shape: tuple[int, ...], big: bool) -> nn.Module:
    c, size = _image(in_shape, cfg.arch)
    D = ResDiscriminator(c, size, cfg.d_width, cfg.attention_fraction)
    return init_weights(D, "orthogonal" if big else "xavier")  # SN: build_discriminator


def sagan_generator(cfg, in_dim: int, out_shape: tuple[int, ...]) -> nn.Module:
    return _generator(cfg, in_dim, out_shape, big=False)


def sagan_discriminator(cfg, in_shape: tuple[int, ...]) -> nn.Module:
    return _discriminator(cfg, in_shape, big=False)


def biggan_generator(cfg, in_dim: int, out_shape: tuple[int, ...]) -> nn.Module:
    return _generator(cfg, in_dim, out_shape, big=True)


def biggan_discriminator(cfg, in_shape: tuple[int, ...]) -> nn.Module:
    return _discriminator(cfg, in_shape, big=True)
