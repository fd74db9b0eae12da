"""Config keys of super-resolution (SRResNet / SRGAN, Ledig et al. 2017, arXiv:1609.04802)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ganforge.config_field import _f, acting_with_game
from ganforge.errors import ConfigError

SR_GAMES = ("srresnet", "srgan")
CONTENT = ("mse", "features")


def _sr(c: Any) -> bool:
    return c.game in SR_GAMES


@dataclass
class SuperResKeys:
    """Keys of the super-resolution games."""

    sr_blocks: int = _f(16, "SRResNet: residual blocks of the generator (paper: 16)", minimum=1)
    content_loss: str = _f(
        "features",
        "srgan: content loss, mse (pixels, the paper's SRGAN-MSE) or features (MSE of the "
        "shipped extractor's last conv features, our stand-in for VGG54)",
        CONTENT,
    )
    adv_weight: float = _f(1e-3, "srgan: weight of the adversarial term (paper: 1e-3)", minimum=0)
    sr_gp_weight: float = _f(
        10.0, "srgan with loss=wasserstein: weight of the critic's gradient penalty", minimum=0
    )
    init_from: str = _f(
        "", "srgan: a finished srresnet run folder whose generator starts this run (paper: yes)"
    )


IDLE_UNLESS: dict[str, tuple[Any, str]] = {
    **acting_with_game(SR_GAMES, ("sr_blocks",)),
    **acting_with_game("srgan", ("content_loss",), "with game=srgan (srresnet is MSE only)"),
    **acting_with_game("srgan", ("adv_weight", "init_from")),
    "sr_gp_weight": (
        lambda c: c.game == "srgan" and c.loss == "wasserstein",
        "with game=srgan and loss=wasserstein",
    ),
}


# keys of the discriminator, which srresnet does not have (d_width aside: the shared test and
# benchmark flags set it for every recipe, and the placeholder D has no width to act on)
_D_KEYS = ("loss", "d_steps", "d_norm", "lr_d", "label_smoothing", "spectral_norm")


def check_superres(cfg: Any) -> None:
    """Cross-field rules of the super-resolution games: arch=srresnet, no label conditioning,
    and no discriminator keys for srresnet (it has no D)."""
    if not _sr(cfg):
        return
    if cfg.arch != "srresnet":
        raise ConfigError(f"game={cfg.game} needs arch=srresnet (got arch={cfg.arch})")
    if cfg.conditioning != "none":
        raise ConfigError(
            f"'conditioning' has no effect with game={cfg.game} (G is conditioned on the "
            "low-resolution image); remove --set conditioning=..."
        )
    if cfg.eval_every:
        raise ConfigError(
            f"'eval_every' has no effect with game={cfg.game} (FD during training samples "
            "latents); score the run with `ganforge translate RUN --eval`"
        )
    if cfg.game == "srresnet":
        defaults = type(cfg)()
        for key in _D_KEYS:
            if getattr(cfg, key) != getattr(defaults, key):
                raise ConfigError(
                    f"'{key}' has no effect with game=srresnet (no discriminator, MSE only); "
                    f"remove --set {key}=... or use game=srgan"
                )
