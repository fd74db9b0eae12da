"""Where each config key acts: a key set off its default where it cannot act is refused.

``IDLE_UNLESS`` maps a key to (a predicate on the config: does the key act here?, the words
that say where it acts); ``Config.validate`` refuses a key set away from its default whose
predicate is false, with those words, rather than accept it and ignore it.
"""

from __future__ import annotations

from typing import Any

from ganforge.conditioning import LABELLED as _LABELLED
from ganforge.config_families import FAMILY_IDLE_UNLESS

_LATENT_GAMES = ("adversarial", "progressive", "style")  # games whose G takes a latent
_SMOOTHABLE = ("non-saturating", "minimax", "least-squares")
# key -> (does it act in this config?, where it acts): checked for keys set off their default
IDLE_UNLESS: dict[str, tuple[Any, str]] = {
    "penalty": (
        lambda c: c.game in _LATENT_GAMES,
        "in adversarial, progressive and style games (not pix2pix/cyclegan)",
    ),
    "penalty_weight": (lambda c: c.penalty != "none", "with a penalty (--set penalty=...)"),
    "clip": (lambda c: c.game == "adversarial", "in adversarial games (not pix2pix/cyclegan)"),
    "g_penalty": (
        lambda c: c.game in ("adversarial", "style"),
        "in adversarial and style games (pix2pix/cyclegan G takes images, not a latent)",
    ),
    "g_penalty_weight": (lambda c: c.g_penalty != "none", "with a G regulariser (g_penalty=...)"),
    "g_penalty_every": (lambda c: c.g_penalty != "none", "with a G regulariser (g_penalty=...)"),
    "augment": (
        lambda c: c.game == "adversarial" and c.arch != "toy",
        "in adversarial games on images (not pix2pix/cyclegan, not arch=toy)",
    ),
    "instance_noise": (
        lambda c: c.game == "adversarial",
        "in adversarial games (not pix2pix/cyclegan)",
    ),
    "instance_noise_steps": (lambda c: c.instance_noise > 0, "with instance_noise > 0"),
    "label_smoothing": (
        lambda c: c.loss in _SMOOTHABLE,
        "with loss=non-saturating, minimax or least-squares (hinge and Wasserstein losses "
        "have no target to smooth)",
    ),
    "pack": (lambda c: c.game == "adversarial", "in adversarial games"),
    "unroll": (lambda c: c.game == "adversarial", "in adversarial games"),
    "rejection": (lambda c: c.game == "adversarial", "in adversarial games"),
    "num_classes": (lambda c: c.conditioning in _LABELLED, "with label conditioning"),
    "info_categorical": (lambda c: c.conditioning == "infogan", "with conditioning=infogan"),
    "info_continuous": (lambda c: c.conditioning == "infogan", "with conditioning=infogan"),
    "info_weight": (lambda c: c.conditioning == "infogan", "with conditioning=infogan"),
    "aux_weight": (lambda c: c.conditioning == "acgan", "with conditioning=acgan"),
    "self_attention": (lambda c: c.arch == "dcgan", "with arch=dcgan"),
    "z_dim": (
        lambda c: c.game in _LATENT_GAMES,
        "in adversarial, progressive and style games (pix2pix/cyclegan G takes images)",
    ),
    "l1_weight": (lambda c: c.game == "pix2pix", "with game=pix2pix"),
    "cycle_weight": (lambda c: c.game == "cyclegan", "with game=cyclegan"),
    "identity_weight": (lambda c: c.game == "cyclegan", "with game=cyclegan"),
    "pool_size": (lambda c: c.game == "cyclegan", "with game=cyclegan"),
    "lr_decay_start": (
        lambda c: c.game == "cyclegan" or c.arch == "toy",
        "with game=cyclegan and in `ganforge toy`",
    ),
    "drs_beta": (lambda c: c.rejection == "drs", "with rejection=drs"),
    "drs_calibration": (lambda c: c.rejection == "drs", "with rejection=drs"),
    "drs_fourier": (lambda c: c.drs_calibration > 0, "with drs_calibration > 0"),
    "compile_trial": (lambda c: c.compile, "with compile=true"),
    "eval_samples": (lambda c: c.eval_every > 0, "with eval_every > 0"),
}
IDLE_UNLESS.update(FAMILY_IDLE_UNLESS)
