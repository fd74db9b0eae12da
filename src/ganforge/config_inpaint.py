"""Config keys of the context encoder (``game=inpaint``; Pathak et al. 2016, arXiv:1604.07379).

G's objective is ``inpaint_rec_weight`` L_rec + ``inpaint_adv_weight`` L_adv (the paper's
0.999 and 0.001). L_rec weighs only the hole and the overlap band around it (the band
``inpaint_overlap_weight`` times, 10 in the paper); see :mod:`ganforge.games.inpaint`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ganforge.config_field import _f, acting_with_game
from ganforge.errors import ConfigError

MASKS = ("center", "block", "region")
REC_LOSSES = ("l2", "l1")


@dataclass
class InpaintKeys:
    inpaint_mask: str = _f(
        "center",
        "inpaint: the hole: center (central square, 1/4 of the image), block (4 random squares "
        "of side S/4) or region (a random smooth shape covering 1/4)",
        MASKS,
    )
    inpaint_rec_weight: float = _f(
        0.999, "inpaint: weight of the reconstruction loss (Pathak et al.: 0.999)", minimum=0
    )
    inpaint_adv_weight: float = _f(
        0.001,
        "inpaint: weight of the adversarial loss (Pathak et al.: 0.001; 0 = reconstruction only)",
        minimum=0,
    )
    inpaint_rec_loss: str = _f(
        "l2", "inpaint: reconstruction distance, l2 (the paper) or l1 (pix2pix-style)", REC_LOSSES
    )
    inpaint_overlap: int = _f(
        0,
        "inpaint: width in px of the band of known pixels around the hole that G also predicts; "
        "0 = the paper's 4 px at 128 px scaled to the image (at least 1)",
        minimum=0,
    )
    inpaint_overlap_weight: float = _f(
        10.0, "inpaint: weight of the overlap band in the reconstruction loss (hole: 1)", minimum=0
    )


IDLE_UNLESS: dict[str, tuple[Any, str]] = acting_with_game(
    "inpaint",
    (
        "inpaint_mask",
        "inpaint_rec_weight",
        "inpaint_adv_weight",
        "inpaint_rec_loss",
        "inpaint_overlap",
        "inpaint_overlap_weight",
    ),
)


def check_inpaint(cfg: Any) -> None:
    """game=inpaint and arch=context-encoder go together; its loss must leave G a signal."""
    if (cfg.game == "inpaint") != (cfg.arch == "context-encoder"):
        raise ConfigError(
            f"game=inpaint needs arch=context-encoder and the reverse (got game={cfg.game}, "
            f"arch={cfg.arch}); use the inpaint recipe"
        )
    if cfg.game == "inpaint" and not (cfg.inpaint_rec_weight or cfg.inpaint_adv_weight):
        raise ConfigError(
            "inpaint_rec_weight and inpaint_adv_weight are both 0: G would learn nothing"
        )
