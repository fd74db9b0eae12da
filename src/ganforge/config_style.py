"""Config keys of the style-based generator (``game=style``, ``arch=style``; the ``stylegan``
recipe): Karras et al. 2019 (arXiv:1812.04948) and 2020 (arXiv:1912.04958).

The keys, where they act (``IDLE_UNLESS``) and the cross-field rules of a style run
(:func:`check_style`, called from ``Config.validate``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ganforge.config_field import _f, acting_with_game
from ganforge.errors import ConfigError

# The reference's R1 weight rule (StyleGAN2-ADA, arXiv:2006.06676, `--cfg=auto`):
# gamma = 0.0002 * resolution^2 / batch size.
R1_AUTO_FACTOR = 0.0002
MBSTD_GROUP = 4  # D's minibatch-stddev group (Karras et al. 2018; 4 in the reference)


def r1_auto_gamma(resolution: int, batch_size: int) -> float:
    """StyleGAN2-ADA's automatic R1 weight: gamma = 0.0002 res^2 / batch."""
    return R1_AUTO_FACTOR * resolution * resolution / batch_size


@dataclass
class StyleKeys:
    """Keys of the style-based family."""

    mapping_layers: int = _f(
        8, "stylegan: fully connected layers of the mapping network z -> w", minimum=1
    )
    mapping_lr_mul: float = _f(
        0.01, "stylegan: learning-rate multiplier of the mapping network (equalised lr)", minimum=0
    )
    style_mixing: float = _f(
        0.9, "stylegan: probability of style-mixing regularisation per batch", minimum=0
    )
    w_avg_beta: float = _f(
        0.995, "stylegan: decay of the tracked average of w (the truncation centre)", minimum=0
    )
    penalty_every: int = _f(
        1,
        "lazy regularisation of D (StyleGAN2): the penalty every k-th step, weighted by k, "
        "with D's lr and Adam betas rescaled by c = k/(k+1)",
        minimum=1,
    )
    r1_auto: bool = _f(
        False,
        "stylegan: R1 weight gamma = 0.0002 * resolution^2 / batch_size (StyleGAN2-ADA's auto "
        "rule) instead of penalty_weight",
    )


def _style(c: Any) -> bool:
    return c.game == "style"


IDLE_UNLESS: dict[str, tuple[Any, str]] = {
    **acting_with_game("style", ("mapping_layers", "mapping_lr_mul", "style_mixing", "w_avg_beta")),
    "penalty_every": (
        lambda c: _style(c) and c.penalty != "none",
        "with game=style and a D penalty (--set penalty=r1)",
    ),
    "r1_auto": (lambda c: _style(c) and c.penalty == "r1", "with game=style and penalty=r1"),
}


def check_style(cfg: Any) -> None:
    """Cross-field rules of a style run; a one-line ConfigError names the fix."""
    if (cfg.game == "style") != (cfg.arch == "style"):
        raise ConfigError(
            f"game=style and arch=style go together (got game={cfg.game}, arch={cfg.arch}); "
            "use the stylegan recipe"
        )
    if not _style(cfg):
        return
    if cfg.style_mixing > 1:
        raise ConfigError(f"bad value {cfg.style_mixing} for 'style_mixing': must be in [0, 1]")
    if cfg.w_avg_beta >= 1:
        raise ConfigError(f"bad value {cfg.w_avg_beta} for 'w_avg_beta': must be in [0, 1)")
    why = {
        "conditioning": cfg.conditioning != "none" and "the style generator is unconditional",
        "g_norm": cfg.g_norm != "none" and "weight demodulation replaces normalisation",
        "d_norm": cfg.d_norm != "none" and "the StyleGAN2 discriminator has no normalisation",
        "spectral_norm": cfg.spectral_norm and "D's equalised-lr layers are not spectral-normed",
        "compile": cfg.compile and "the style game calls G's mapping and synthesis, not forward",
    }
    for key, reason in why.items():
        if reason:
            default = "false" if key in ("spectral_norm", "compile") else "none"
            raise ConfigError(
                f"'{key}' cannot act with game=style ({reason}): use --set {key}={default}"
            )
    if cfg.batch_size > MBSTD_GROUP and cfg.batch_size % MBSTD_GROUP:
        raise ConfigError(
            f"bad value {cfg.batch_size} for 'batch_size': game=style needs a multiple of "
            f"{MBSTD_GROUP} (D's minibatch-stddev groups)"
        )
    default_weight = next(f.default for f in fields(cfg) if f.name == "penalty_weight")
    if cfg.r1_auto and cfg.penalty_weight != default_weight:
        raise ConfigError(
            "penalty_weight has no effect with r1_auto=true (gamma = 0.0002 res^2 / batch): "
            "drop --set penalty_weight or add --set r1_auto=false"
        )
