"""Hyper-parameter settings sampled from wide ranges, as Lucic et al. 2018 (Sec. 5, "wide
range" of their Table 2) did to compare GANs fairly: a model that needs a lucky setting shows a
wide spread; the best setting found after N tries is their "budget vs best FID" curve.

Our ranges (each setting draws every key independently):

==================  =====================================  ==================================
key                 distribution                           acts on
==================  =====================================  ==================================
lr_g = lr_d         log-uniform on [1e-5, 1e-2]            every recipe (one rate, both nets)
beta1               uniform on [0, 0.9]                    Adam recipes (not RMSProp: wgan)
d_steps (n_critic)  uniform on {1, 2, 5}                   every recipe
batch_size          uniform on {32, 64, 128}               every recipe (times pack for pacgan)
penalty_weight      log-uniform on [0.1, 100]              recipes with a penalty (wgan-gp, ...)
==================  =====================================  ==================================

Lucic et al. drew β1 and β2 from [0, 1]; we keep each recipe's β2 and stop β1 at 0.9, since
β1 near 1 only freezes Adam within our short budgets. The draws are deterministic: setting k of
a recipe is the k-th draw of a generator seeded from (:data:`STUDY_SEED`, recipe name), so a
study with more settings keeps the first ones, and every machine draws the same.
"""

from __future__ import annotations

import hashlib
import math
import random
from typing import Any

from ganforge.config import Config

STUDY_SEED = 2018
LR_RANGE = (1e-5, 1e-2)
BETA1_RANGE = (0.0, 0.9)
D_STEPS = (1, 2, 5)
BATCH_SIZES = (32, 64, 128)
PENALTY_RANGE = (0.1, 100.0)
SAMPLED_KEYS = ("lr_g", "lr_d", "beta1", "d_steps", "batch_size", "penalty_weight")


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def sample_settings(recipe_cfg: Config, n: int, seed: int = STUDY_SEED) -> list[dict[str, Any]]:
    """``n`` settings (config overrides) for the recipe whose config is ``recipe_cfg``; only
    keys that act in it are drawn (no beta1 for RMSProp, no penalty weight without a penalty)."""
    digest = hashlib.sha256(f"{seed}:{recipe_cfg.recipe}".encode()).hexdigest()
    rng = random.Random(int(digest[:16], 16))
    settings = []
    for _ in range(n):
        lr = _log_uniform(rng, *LR_RANGE)
        beta1 = round(rng.uniform(*BETA1_RANGE), 4)
        d_steps = rng.choice(D_STEPS)
        batch = rng.choice(BATCH_SIZES) * recipe_cfg.pack
        weight = _log_uniform(rng, *PENALTY_RANGE)  # drawn always: the stream stays aligned
        setting: dict[str, Any] = {"lr_g": float(f"{lr:.4g}"), "lr_d": float(f"{lr:.4g}")}
        if recipe_cfg.optimizer == "adam":
            setting["beta1"] = beta1
        setting.update({"d_steps": d_steps, "batch_size": batch})
        if recipe_cfg.penalty != "none":
            setting["penalty_weight"] = float(f"{weight:.4g}")
        settings.append(setting)
    return settings
