"""Recipes of the attention and scale family: SAGAN and BigGAN at small scale (28-64 px).

Both class-conditional through ``cbn`` (labels into G's conditional BatchNorm, projection D),
unconditional on a dataset without labels. Widths 32 (G and D) instead of the papers' 64-96
so that they train on a CPU; everything else follows the papers.
"""

from __future__ import annotations

from ganforge.recipe_base import Recipe

_COMMON = {
    "conditioning": "cbn",
    "loss": "hinge",
    "spectral_norm": True,  # in G and D for these archs
    "g_norm": "batch",
    "d_norm": "none",
    "g_width": 32,
    "d_width": 32,
    "attention_fraction": 0.25,
    "optimizer": "adam",
    "beta1": 0.0,
}

ATTENTION_RECIPES = (
    Recipe(
        "sagan",
        "self-attention GAN: residual G/D, attention at 1/4 of the image side, SN in G and D, "
        "hinge, TTUR (D 4e-4, G 1e-4), conditional BN + projection D",
        "Zhang et al. 2019, Self-Attention Generative Adversarial Networks (arXiv:1805.08318)",
        {
            **_COMMON,
            "arch": "sagan",
            "z_dim": 128,
            "lr_g": 1e-4,
            "lr_d": 4e-4,
            "beta2": 0.9,
            "d_steps": 1,
        },
    ),
    Recipe(
        "biggan",
        "BigGAN at small scale: shared class embedding, hierarchical z, orthogonal reg. 1e-4, "
        "2 D steps, Adam G 5e-5 / D 2e-4, EMA of G with standing statistics, truncation",
        "Brock et al. 2019, Large Scale GAN Training for High Fidelity Natural Image Synthesis "
        "(arXiv:1809.11096), section 3 and appendix C (the 128 px ImageNet settings)",
        {
            **_COMMON,
            "arch": "biggan",
            "z_dim": 120,
            "shared_dim": 128,
            "ortho_weight": 1e-4,
            "lr_g": 5e-5,
            "lr_d": 2e-4,
            "beta2": 0.999,
            "d_steps": 2,
            "ema": 0.9999,
        },
    ),
)
