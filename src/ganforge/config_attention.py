"""Config keys of the attention and scale family: SAGAN (Zhang et al. 2019, arXiv:1805.08318)
and BigGAN (Brock et al. 2019, arXiv:1809.11096), arch=sagan / arch=biggan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ganforge.config_field import _f
from ganforge.errors import ConfigError

RESIDUAL_ARCHS = ("sagan", "biggan")


@dataclass
class AttentionKeys:
    attention_fraction: float = _f(
        0.25,
        "sagan/biggan: self-attention after the G and D block whose feature maps are this "
        "fraction of the image side (SAGAN: 32 px maps of 128 px images); 0 = no attention",
        minimum=0,
    )
    shared_dim: int = _f(
        128, "biggan: size of the class embedding shared by all conditional BN layers", minimum=1
    )
    ortho_weight: float = _f(
        1e-4,
        "biggan: beta of the orthogonal regulariser beta ||W W^T (1 - I)||_F^2 on G",
        minimum=0,
    )


IDLE_UNLESS: dict[str, tuple[Any, str]] = {
    "attention_fraction": (lambda c: c.arch in RESIDUAL_ARCHS, "with arch=sagan or biggan"),
    "shared_dim": (lambda c: c.arch == "biggan", "with arch=biggan"),
    "ortho_weight": (lambda c: c.arch == "biggan", "with arch=biggan"),
}


def check_attention(cfg: Any) -> None:
    """Cross-key rules: the residual G normalises with conditional BN and the residual D has no
    normalisation (spectral norm only); conditioning=cbn needs that G."""
    if cfg.arch in RESIDUAL_ARCHS:
        if cfg.g_norm != "batch":
            raise ConfigError(
                f"arch={cfg.arch} normalises G with (conditional) BatchNorm: remove "
                f"--set g_norm={cfg.g_norm}"
            )
        if cfg.d_norm != "none":
            raise ConfigError(
                f"arch={cfg.arch}'s D has no normalisation layers: set d_norm=none "
                "(the sagan and biggan recipes do)"
            )
    elif cfg.conditioning == "cbn":
        raise ConfigError(
            f"conditioning=cbn feeds labels to G's conditional BatchNorm, which arch={cfg.arch} "
            "has not: use arch=sagan or biggan, or conditioning=projection"
        )
