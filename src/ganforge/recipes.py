"""Named recipes: the classic GANs with the hyper-parameters of their papers.

A recipe is a set of overrides on :class:`~ganforge.config.Config`; ``docs/recipes.md`` has
the same table with the sources.
"""

from __future__ import annotations

from ganforge.errors import ConfigError
from ganforge.recipe_base import Recipe
from ganforge.recipes_attention import ATTENTION_RECIPES
from ganforge.recipes_inpaint import INPAINT_RECIPES
from ganforge.recipes_progressive import PROGRESSIVE_RECIPES
from ganforge.recipes_stargan import STARGAN_RECIPES
from ganforge.recipes_style import STYLE_RECIPES
from ganforge.recipes_superres import RECIPES_SUPERRES

# What a bare `ganforge train` and `make demo` train.
DEFAULT_RECIPE = "dcgan-cpu"

_DCGAN_ADAM = {"optimizer": "adam", "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999}
_WGAN_GP = {
    "arch": "dcgan",
    "loss": "wasserstein",
    "penalty": "gp",
    "penalty_weight": 10.0,
    "d_norm": "layer",
    "optimizer": "adam",
    "lr_g": 1e-4,
    "lr_d": 1e-4,
    "beta1": 0.0,
    "beta2": 0.9,
    "d_steps": 5,
}

# The notes' MLP GAN (Goodfellow et al. 2014), shared by gan, pacgan and unrolled.
_MLP_GAN = {
    "arch": "mlp",
    "g_width": 128,
    "d_width": 256,
    "g_norm": "batch",
    "d_norm": "none",
    "channels_last": False,
}

RECIPES: dict[str, Recipe] = {}


def register(recipe: Recipe) -> Recipe:
    RECIPES[recipe.name] = recipe
    return recipe


for _r in (
    Recipe(
        "gan",
        "MLP GAN 100-128-256-512-784 / 784-512-256-1, non-saturating loss",
        "Goodfellow et al. 2014, Generative Adversarial Nets (arXiv:1406.2661)",
        {
            **_MLP_GAN,
            **_DCGAN_ADAM,
        },
    ),
    Recipe(
        "dcgan",
        "strided-conv D, transposed-conv G, BatchNorm, Adam 2e-4",
        "Radford et al. 2016, Unsupervised Representation Learning with DCGANs (arXiv:1511.06434)",
        {"arch": "dcgan", **_DCGAN_ADAM},
    ),
    Recipe(
        DEFAULT_RECIPE,
        "the default: dcgan tuned for sample quality per CPU-minute at 28 px: widths 32, "
        "batch 32, Adam 4e-4 (0.5, 0.999), EMA of G 0.999 (screened at equal wall time in "
        "docs/bench/default-search.md)",
        "Radford et al. 2016 (arXiv:1511.06434); EMA of G: Yazici et al. 2019, The Unusual "
        "Effectiveness of Averaging in GAN Training (arXiv:1806.04498)",
        {
            "arch": "dcgan",
            **_DCGAN_ADAM,
            "g_width": 32,
            "d_width": 32,
            "batch_size": 32,
            "lr_g": 4e-4,
            "lr_d": 4e-4,
            "ema": 0.999,
        },
    ),
    Recipe(
        "cgan",
        "class-conditional DCGAN: one-hot labels concatenated to z and to D's input",
        "Mirza & Osindero 2014, Conditional Generative Adversarial Nets (arXiv:1411.1784)",
        {"arch": "dcgan", "conditioning": "concat", **_DCGAN_ADAM},
    ),
    Recipe(
        "cgan-matching",
        "matching-aware cGAN: D also rejects real images with wrong labels",
        "Reed et al. 2016, Generative Adversarial Text to Image Synthesis (arXiv:1605.05396)",
        {"arch": "dcgan", "conditioning": "matching", **_DCGAN_ADAM},
    ),
    Recipe(
        "acgan",
        "auxiliary-classifier GAN: D predicts the class of real and fake images",
        "Odena et al. 2017, Conditional Image Synthesis with Auxiliary Classifier GANs "
        "(arXiv:1610.09585)",
        {"arch": "dcgan", "conditioning": "acgan", **_DCGAN_ADAM},
    ),
    Recipe(
        "projection",
        "projection discriminator with hinge loss and spectral norm",
        "Miyato & Koyama 2018, cGANs with Projection Discriminator (arXiv:1802.05637)",
        {
            "arch": "dcgan",
            "conditioning": "projection",
            "loss": "hinge",
            "spectral_norm": True,
            "d_norm": "none",
            "optimizer": "adam",
            "lr_g": 2e-4,
            "lr_d": 2e-4,
            "beta1": 0.0,
            "beta2": 0.9,
            "d_steps": 5,
        },
    ),
    Recipe(
        "lsgan",
        "least-squares GAN (a=0, b=c=1)",
        "Mao et al. 2017, Least Squares Generative Adversarial Networks (arXiv:1611.04076)",
        {"arch": "dcgan", "loss": "least-squares", **_DCGAN_ADAM},
    ),
    Recipe(
        "wgan",
        "Wasserstein GAN: weight clipping 0.01, RMSProp 5e-5, n_critic 5",
        "Arjovsky et al. 2017, Wasserstein GAN (arXiv:1701.07875)",
        {
            "arch": "dcgan",
            "loss": "wasserstein",
            "clip": 0.01,
            "optimizer": "rmsprop",
            "lr_g": 5e-5,
            "lr_d": 5e-5,
            "d_steps": 5,
        },
    ),
    Recipe(
        "wgan-gp",
        "WGAN with gradient penalty (lambda 10), LayerNorm critic, Adam 1e-4 (0, 0.9)",
        "Gulrajani et al. 2017, Improved Training of Wasserstein GANs (arXiv:1704.00028)",
        dict(_WGAN_GP),
    ),
    Recipe(
        "wgan-slope",
        "WGAN with the notes' finite-difference slope penalty (lambda 10)",
        "course notes 003 (formula 10), after Gulrajani et al. 2017",
        {**_WGAN_GP, "penalty": "slope"},
    ),
    Recipe(
        "hinge-sn",
        "SN-GAN: hinge loss, spectral normalisation in D, no BatchNorm in D",
        "Miyato et al. 2018, Spectral Normalization for GANs (arXiv:1802.05957), Table 1 "
        "setting C (Adam 2e-4, betas 0.5/0.999, n_dis 1)",
        {"arch": "dcgan", "loss": "hinge", "spectral_norm": True, "d_norm": "none", **_DCGAN_ADAM},
    ),
    Recipe(
        "infogan",
        "InfoGAN: 10-way categorical + 2 continuous codes, Q head shares D's body",
        "Chen et al. 2016, InfoGAN (arXiv:1606.03657)",
        {
            "arch": "dcgan",
            "conditioning": "infogan",
            "z_dim": 62,
            "info_categorical": 10,
            "info_continuous": 2,
            "info_weight": 1.0,
            "optimizer": "adam",
            "lr_g": 1e-3,
            "lr_d": 2e-4,
            "beta1": 0.5,
            "beta2": 0.999,
        },
    ),
    Recipe(
        "pacgan",
        "PacGAN2: the MLP GAN whose D judges 2 samples packed together (mode coverage)",
        "Lin et al. 2018, PacGAN: The power of two samples in GANs (arXiv:1712.04086)",
        {
            **_MLP_GAN,
            "pack": 2,
            **_DCGAN_ADAM,
        },
    ),
    Recipe(
        "unrolled",
        "unrolled GAN: G's loss against D after 5 look-ahead Adam steps (mode coverage)",
        "Metz et al. 2017, Unrolled Generative Adversarial Networks (arXiv:1611.02163)",
        {
            **_MLP_GAN,
            "unroll": 5,
            "optimizer": "adam",
            "lr_g": 1e-3,
            "lr_d": 1e-4,
            "beta1": 0.5,
            "beta2": 0.999,
        },
    ),
    Recipe(
        "pix2pix",
        "U-Net G + PatchGAN D on (input, output) pairs; adversarial + 100 L1; BatchNorm",
        "Isola et al. 2017, Image-to-Image Translation with Conditional Adversarial Networks "
        "(arXiv:1611.07004)",
        {
            "game": "pix2pix",
            "arch": "unet",
            "dataset": "fmnist-edges2items",
            "loss": "non-saturating",
            "l1_weight": 100.0,
            "g_norm": "batch",
            "d_norm": "batch",
            "batch_size": 4,
            **_DCGAN_ADAM,
        },
    ),
    Recipe(
        "cyclegan",
        "two ResNet G + two PatchGAN D, least squares, cycle 10, identity 0.5, pool 50",
        "Zhu et al. 2017, Unpaired Image-to-Image Translation using Cycle-Consistent "
        "Adversarial Networks (arXiv:1703.10593)",
        {
            "game": "cyclegan",
            "arch": "resnet",
            "dataset": "fmnist-sneaker2boot",
            "loss": "least-squares",
            "cycle_weight": 10.0,
            "identity_weight": 0.5,
            "pool_size": 50,
            "lr_decay_start": 0.5,
            "g_norm": "instance",
            "d_norm": "instance",
            "batch_size": 1,
            **_DCGAN_ADAM,
        },
    ),
):
    register(_r)

# later families: each module holds a tuple of its recipes
for _family in (
    STARGAN_RECIPES,
    RECIPES_SUPERRES,
    PROGRESSIVE_RECIPES,
    INPAINT_RECIPES,
    STYLE_RECIPES,
    ATTENTION_RECIPES,
):
    for _r in _family:
        register(_r)


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ConfigError(f"unknown recipe {name!r}: choose from {', '.join(RECIPES)}")
    return RECIPES[name]
