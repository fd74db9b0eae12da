"""The style-based recipe: StyleGAN2 at small scale (Karras et al. 2020, arXiv:1912.04958;
the generator of Karras et al. 2019, arXiv:1812.04948), with the settings of the reference's
automatic configuration (StyleGAN2-ADA, Karras et al. 2020, arXiv:2006.06676, ``--cfg=auto``)
for 32 px (Fashion-MNIST's 28 padded to a 32 px canvas): batch 32, Adam 0.0025 with betas (0, 0.99), R1 gamma = 0.0002 res^2 / batch,
EMA half-life 10k images (0.5 ** (32 / 10^4) = 0.9978 per step)."""

from __future__ import annotations

from ganforge.recipe_base import Recipe

STYLE_RECIPES = (
    Recipe(
        "stylegan",
        "mapping net (8 layers, lr x0.01) + modulated/demodulated synthesis with noise, style "
        "mixing 0.9; residual D; non-saturating + lazy R1 (every 16, auto gamma); EMA",
        "Karras et al. 2019, A Style-Based Generator Architecture for GANs (arXiv:1812.04948); "
        "Karras et al. 2020, StyleGAN2 (arXiv:1912.04958)",
        {
            "game": "style",
            "arch": "style",
            "z_dim": 128,
            "g_width": 32,
            "d_width": 32,
            "g_norm": "none",
            "d_norm": "none",
            "mapping_layers": 8,
            "mapping_lr_mul": 0.01,
            "style_mixing": 0.9,
            "w_avg_beta": 0.995,
            "loss": "non-saturating",
            "penalty": "r1",
            "r1_auto": True,
            "penalty_every": 16,
            "optimizer": "adam",
            "lr_g": 0.0025,
            "lr_d": 0.0025,
            "beta1": 0.0,
            "beta2": 0.99,
            "batch_size": 32,
            "ema": 0.9978,
            "channels_last": False,
        },
    ),
)
