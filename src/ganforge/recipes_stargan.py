"""StarGAN's recipe (Choi et al. 2018, arXiv:1711.09020): the paper's hyper-parameters on the
built-in four-domain task ``fmnist-tops``."""

from __future__ import annotations

from ganforge.recipe_base import Recipe

STARGAN_RECIPES = (
    Recipe(
        "stargan",
        "one G(x, c) for all domains + D with adversarial and domain heads; WGAN-GP 10, "
        "cls 1, rec 10, n_critic 5, lr decay over the last half",
        "Choi et al. 2018, StarGAN: Unified Generative Adversarial Networks for Multi-Domain "
        "Image-to-Image Translation (arXiv:1711.09020)",
        {
            "game": "stargan",
            "arch": "stargan",
            "dataset": "fmnist-tops",
            "loss": "wasserstein",
            "stargan_gp_weight": 10.0,
            "stargan_cls_weight": 1.0,
            "stargan_rec_weight": 10.0,
            "stargan_blocks": 6,
            "g_norm": "instance",
            "d_norm": "none",
            "d_steps": 5,
            "optimizer": "adam",
            "lr_g": 1e-4,
            "lr_d": 1e-4,
            "beta1": 0.5,
            "beta2": 0.999,
            "lr_decay_start": 0.5,
            "batch_size": 16,
        },
    ),
)
