"""Recipes of the context encoder (Pathak et al. 2016, arXiv:1604.07379): ``inpaint`` and its
reconstruction-only, pix2pix-style L1 baseline ``inpaint-l1`` (no adversarial term)."""

from __future__ import annotations

from ganforge.recipe_base import Recipe

_CONTEXT_ENCODER = {
    "game": "inpaint",
    "arch": "context-encoder",
    "dataset": "fmnist-inpaint",
    "inpaint_mask": "center",
    "loss": "non-saturating",
    "g_norm": "batch",
    "d_norm": "batch",
    "batch_size": 64,
    # the paper's code: Adam lr 2e-4, beta1 0.5 (after DCGAN)
    "optimizer": "adam",
    "lr_g": 2e-4,
    "lr_d": 2e-4,
    "beta1": 0.5,
    "beta2": 0.999,
}

INPAINT_RECIPES = (
    Recipe(
        "inpaint",
        "context encoder: encoder + channel-wise FC + decoder fills the centre quarter; "
        "0.999 L2 (overlap band x10) + 0.001 adversarial, D on the whole filled image",
        "Pathak et al. 2016, Context Encoders: Feature Learning by Inpainting (arXiv:1604.07379)",
        {**_CONTEXT_ENCODER, "inpaint_rec_weight": 0.999, "inpaint_adv_weight": 0.001},
    ),
    Recipe(
        "inpaint-l1",
        "baseline of inpaint: the same encoder-decoder trained on the L1 reconstruction alone "
        "(pix2pix-style, no adversarial term)",
        "Pathak et al. 2016 (arXiv:1604.07379), reconstruction-only ablation; L1 as Isola et al. "
        "2017 (arXiv:1611.07004)",
        {
            **_CONTEXT_ENCODER,
            "inpaint_rec_loss": "l1",
            "inpaint_rec_weight": 1.0,
            "inpaint_adv_weight": 0.0,
        },
    ),
)
