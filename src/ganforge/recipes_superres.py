"""Recipes of super-resolution: SRResNet and SRGAN (Ledig et al. 2017, arXiv:1609.04802)."""

from __future__ import annotations

from ganforge.recipe_base import Recipe

_SOURCE = (
    "Ledig et al. 2017, Photo-Realistic Single Image Super-Resolution Using a Generative "
    "Adversarial Network (arXiv:1609.04802)"
)
# the paper: 16 residual blocks of 64 channels, BN, Adam beta1 0.9, lr 1e-4
_COMMON = {
    "arch": "srresnet",
    "dataset": "fmnist-sr4",
    "sr_blocks": 16,
    "g_width": 64,
    "g_norm": "batch",
    "optimizer": "adam",
    "lr_g": 1e-4,
    "beta1": 0.9,
    "beta2": 0.999,
    "batch_size": 16,
}

RECIPES_SUPERRES = (
    Recipe(
        "srresnet",
        "SRResNet G (16 residual blocks, sub-pixel x2/x4) trained on pixel MSE alone",
        _SOURCE,
        {**_COMMON, "game": "srresnet"},
    ),
    Recipe(
        "srgan",
        "SRResNet G + the paper's BN/LeakyReLU D; content (extractor features) + 1e-3 adversarial"
        "; --set init_from=SRRESNET_RUN to fine-tune, --set loss=wasserstein for WGAN-GP",
        _SOURCE,
        {
            **_COMMON,
            "game": "srgan",
            "loss": "non-saturating",
            "content_loss": "features",
            "adv_weight": 1e-3,
            "lr_d": 1e-4,
            "d_width": 64,
            "d_norm": "batch",
        },
    ),
)
