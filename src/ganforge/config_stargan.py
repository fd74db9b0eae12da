"""StarGAN's config keys (Choi et al. 2018, arXiv:1711.09020): the weights of its objective
(lambda_cls, lambda_rec, lambda_gp of eq. 5-7 and section 4) and the generator's depth.

The learning-rate schedule reuses ``lr_decay_start`` (linear decay to 0 after that fraction of
the run, 0.5 in the paper) and the critic count ``d_steps`` (n_critic 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ganforge.config_field import _f, acting_with_game
from ganforge.errors import ConfigError


def _stargan(c: Any) -> bool:
    return c.game == "stargan"


@dataclass
class StarGANKeys:
    stargan_cls_weight: float = _f(
        1.0, "StarGAN: lambda_cls, weight of the domain-classification loss", minimum=0
    )
    stargan_rec_weight: float = _f(
        10.0, "StarGAN: lambda_rec, weight of the reconstruction |x - G(G(x, c), c')|_1", minimum=0
    )
    stargan_gp_weight: float = _f(
        10.0, "StarGAN: lambda_gp, gradient penalty on D's adversarial head; 0 disables", minimum=0
    )
    stargan_blocks: int = _f(6, "StarGAN: residual blocks in the generator", minimum=0)


IDLE_UNLESS: dict[str, tuple[Any, str]] = {
    **acting_with_game(
        "stargan",
        ("stargan_cls_weight", "stargan_rec_weight", "stargan_gp_weight", "stargan_blocks"),
    ),
    # FD during training samples G from latents: a StarGAN run is scored by translate --eval
    "eval_every": (
        lambda c: not _stargan(c),
        "for generators of latents (a stargan run is scored by `ganforge translate RUN --eval`)",
    ),
    # the core rule (config_rules) lets it act with cyclegan and the toy; stargan decays too
    "lr_decay_start": (
        lambda c: c.game in ("cyclegan", "stargan") or c.arch == "toy",
        "with game=cyclegan or stargan and in `ganforge toy`",
    ),
}


def check_stargan(cfg: Any) -> None:
    """Cross-field rules: game=stargan and arch=stargan go together; D's gradient penalty is
    per sample, so D may not mix samples with batch norm, and differentiates a gradient, which
    torch.compile cannot; labels enter G only as the target domain, so no other conditioning
    scheme."""
    if (cfg.game == "stargan") != (cfg.arch == "stargan"):
        raise ConfigError(
            f"game=stargan and arch=stargan go together (got game={cfg.game}, arch={cfg.arch})"
        )
    if cfg.game != "stargan":
        return
    if cfg.stargan_gp_weight and cfg.d_norm == "batch":
        raise ConfigError(
            "d_norm=batch is not allowed with stargan_gp_weight > 0: BatchNorm mixes the "
            "samples the gradient penalty treats independently; use d_norm=none (the paper's)"
        )
    if cfg.compile and cfg.stargan_gp_weight:
        raise ConfigError(
            "compile=true does not work with game=stargan and stargan_gp_weight > 0: the "
            "gradient penalty differentiates D's gradient, which compiled graphs cannot; "
            "drop --set compile=true"
        )
    if cfg.conditioning != "none":
        raise ConfigError(
            f"conditioning={cfg.conditioning} has no effect with game=stargan: the target "
            "domain is G's conditioning; remove --set conditioning=..."
        )
