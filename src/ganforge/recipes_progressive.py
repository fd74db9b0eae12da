"""Recipes of the progressive GAN (Karras et al. 2018, arXiv:1710.10196)."""

from __future__ import annotations

from ganforge.recipe_base import Recipe

PROGRESSIVE_RECIPES = (
    Recipe(
        "progan",
        "progressive growing 4x4 -> data size (fade in, then stabilise), equalised lr, pixel "
        "norm, minibatch stddev, WGAN-GP + drift, EMA G; 60k images per phase (CPU scale)",
        "Karras et al. 2018, Progressive Growing of GANs for Improved Quality, Stability, and "
        "Variation (arXiv:1710.10196)",
        {
            "game": "progressive",
            "arch": "progressive",
            "z_dim": 128,
            "g_width": 64,
            "d_width": 64,
            "g_norm": "none",
            "d_norm": "none",
            "loss": "wasserstein",
            "penalty": "gp",
            "penalty_weight": 10.0,
            "progan_drift": 1e-3,
            "progan_mbstd_group": 4,
            "progan_phase_images": 60_000,
            "optimizer": "adam",
            "lr_g": 1e-3,
            "lr_d": 1e-3,
            "beta1": 0.0,
            "beta2": 0.99,
            "d_steps": 1,
            "batch_size": 16,
            "ema": 0.999,
            "channels_last": False,
        },
    ),
)
