"""Network architectures: modules that map tensors to tensors and know nothing of training."""

from __future__ import annotations

import math

from torch import nn

from ganforge.errors import ConfigError
from ganforge.models import resnet_gan
from ganforge.models.dcgan import DCGANDiscriminator, DCGANGenerator
from ganforge.models.layers import apply_spectral_norm
from ganforge.models.mlp import MLPDiscriminator, MLPGenerator
from ganforge.models.toy import build_toy_discriminator, build_toy_generator

# Builders for architectures added elsewhere (resnet, unet, toy, ...): name -> (G fn, D fn)
ARCHITECTURES: dict[str, tuple] = {}
ARCHITECTURES["toy"] = (build_toy_generator, build_toy_discriminator)


def _unet_generator(cfg, in_dim: int, out_shape: tuple[int, ...]) -> nn.Module:
    """pix2pix U-Net: ``in_dim`` input channels -> image of ``out_shape`` (C, S, S)."""
    from ganforge.models.unet import UNetGenerator

    return UNetGenerator(in_dim, out_shape[0], out_shape[-1], cfg.g_width, cfg.g_norm)


def _patch_discriminator(cfg, in_shape: tuple[int, ...]) -> nn.Module:
    """PatchGAN for (C, S, S) inputs: 70x70 patches from 128 px, smaller below."""
    from ganforge.models.patchgan import PatchDiscriminator, patch_layers_for

    n = patch_layers_for(in_shape[-1])
    return PatchDiscriminator(in_shape[0], cfg.d_width, n, cfg.d_norm)


ARCHITECTURES["unet"] = (_unet_generator, _patch_discriminator)
ARCHITECTURES["sagan"] = (resnet_gan.sagan_generator, resnet_gan.sagan_discriminator)
ARCHITECTURES["biggan"] = (resnet_gan.biggan_generator, resnet_gan.biggan_discriminator)


def _style_generator(cfg, in_dim: int, out_shape: tuple[int, ...]) -> nn.Module:
    """StyleGAN2-style G for (C, S, S) images: mapping network z -> w, synthesis from 4x4."""
    from ganforge.models.style import StyleGenerator

    c, s = out_shape[0], out_shape[-1]
    return StyleGenerator(in_dim, c, s, cfg.g_width, cfg.mapping_layers, cfg.mapping_lr_mul)


def _style_discriminator(cfg, in_shape: tuple[int, ...]) -> nn.Module:
    """StyleGAN2's residual D with minibatch stddev for (C, S, S) images."""
    from ganforge.models.style_d import StyleDiscriminator

    return StyleDiscriminator(in_shape[0], in_shape[-1], cfg.d_width)


ARCHITECTURES["style"] = (_style_generator, _style_discriminator)


def build_generator(cfg, in_dim: int, out_shape: tuple[int, ...]) -> nn.Module:
    """The generator of ``cfg.arch`` mapping (B, in_dim) latents to (B, *out_shape) samples."""
    if cfg.arch == "mlp":
        return MLPGenerator(in_dim, out_shape, cfg.g_width, cfg.g_norm)
    if cfg.arch == "dcgan":
        c, h, w = _image_shape(out_shape)
        return DCGANGenerator(in_dim, c, h, cfg.g_width, cfg.g_norm, cfg.self_attention)
    if cfg.arch in ARCHITECTURES:
        return ARCHITECTURES[cfg.arch][0](cfg, in_dim, out_shape)
    raise ConfigError(f"bad value {cfg.arch!r} for 'arch': no generator of that kind")


def build_discriminator(cfg, in_shape: tuple[int, ...]) -> nn.Module:
    """The discriminator of ``cfg.arch`` for inputs (B, *in_shape) -> logits (B,).

    It exposes ``features(x)`` (B, feature_dim) and ``head`` for auxiliary outputs.
    Spectral normalisation is applied to every layer when ``cfg.spectral_norm``.
    """
    if cfg.arch == "mlp":
        d = MLPDiscriminator(math.prod(in_shape), cfg.d_width, cfg.d_norm)
    elif cfg.arch == "dcgan":
        c, h, _ = _image_shape(in_shape)
        d = DCGANDiscriminator(c, h, cfg.d_width, cfg.d_norm, cfg.self_attention)
    elif cfg.arch in ARCHITECTURES:
        d = ARCHITECTURES[cfg.arch][1](cfg, in_shape)
    else:
        raise ConfigError(f"bad value {cfg.arch!r} for 'arch': no discriminator of that kind")
    return apply_spectral_norm(d) if cfg.spectral_norm else d


def _image_shape(shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ConfigError(
            f"arch=dcgan needs square images (C, S, S), got shape {tuple(shape)}; "
            "use --image-size or arch=mlp"
        )
    return shape  # type: ignore[return-value]


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


__all__ = ["ARCHITECTURES", "build_discriminator", "build_generator", "count_parameters"]
