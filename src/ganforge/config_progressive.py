"""Config keys of the progressive GAN (Karras et al. 2018, arXiv:1710.10196; ``game=progressive``).

``check_progressive`` holds the rules that join several keys: the game and the architecture go
together, and the parts of other families that this game would ignore are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ganforge.config_field import _f, acting_with_game
from ganforge.errors import ConfigError


def _progressive(c: Any) -> bool:
    return c.game == "progressive"


_WHERE = "with game=progressive (recipe progan)"


@dataclass
class ProgressiveKeys:
    progan_phase_images: int = _f(
        800_000,
        "progan: real images per fade-in and per stabilisation of each resolution "
        "(800k in the paper)",
        minimum=1,
    )
    progan_drift: float = _f(
        1e-3, "progan: epsilon of the drift term epsilon E[D(x)^2] in D's loss", minimum=0
    )
    progan_mbstd_group: int = _f(
        4, "progan: group size of D's minibatch standard deviation", minimum=2
    )
    progan_reset_adam: bool = _f(
        True, "progan: reset both optimisers' Adam moments when a fade or stabilisation begins"
    )


IDLE_UNLESS: dict[str, tuple[Any, str]] = acting_with_game(
    "progressive",
    ("progan_phase_images", "progan_drift", "progan_mbstd_group", "progan_reset_adam"),
    _WHERE,
)


def check_progressive(cfg: Any) -> None:
    """game=progressive goes with arch=progressive (and only with it); its networks have their
    own normalisation (pixel norm in G, none in D), no conditioning and an eager forward."""
    if (cfg.game == "progressive") != (cfg.arch == "progressive"):
        raise ConfigError(
            f"game={cfg.game} does not go with arch={cfg.arch}: the progressive networks and "
            "their game go together (use the recipe progan)"
        )
    if not _progressive(cfg):
        return
    refused = [
        ("g_norm", cfg.g_norm != "none", "G has pixel norm"),
        ("d_norm", cfg.d_norm != "none", "D has no normalisation"),
        ("spectral_norm", cfg.spectral_norm, "D has the equalised learning rate"),
        ("conditioning", cfg.conditioning != "none", "progan is unconditional"),
        ("compile", cfg.compile, "G and D change with the stage of growth"),
    ]
    for key, bad, why in refused:
        if bad:
            raise ConfigError(
                f"bad value {getattr(cfg, key)!r} for '{key}' with game=progressive ({why}); "
                f"remove --set {key}=..."
            )
