"""Scores of image-to-image translation runs.

pix2pix (paired): mean absolute error (L1), PSNR and SSIM of G(A) against the held-out targets
B, next to two baselines that need no model (the input itself, "identity", and an all-black
image, "blank"). CycleGAN (unpaired): the share of translated test images a Fashion-MNIST
classifier assigns to the target class, and the cycle reconstruction error E|F(G(x)) - x|.

All images are compared on the [0, 1] scale unless noted (``*_pm1`` = on the [-1, 1] scale the
networks work in).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from ganforge.errors import GanforgeError, a_or_an

Tensor = torch.Tensor


def psnr(x: Tensor, y: Tensor, data_range: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio per image, 10 log10(R^2 / MSE), for (N, C, H, W) in [0, R]."""
    mse = (x.double() - y.double()).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(data_range**2 / mse.clamp_min(1e-12))


def _gaussian_window(size: int, sigma: float) -> Tensor:
    t = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(
    x: Tensor, y: Tensor, data_range: float = 1.0, window: int = 11, sigma: float = 1.5
) -> Tensor:
    """Structural similarity per image (Wang et al. 2004, IEEE TIP 13(4)):

    SSIM = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2))

    with Gaussian-weighted local statistics (11x11, sigma 1.5, valid positions only),
    C1 = (0.01 R)^2, C2 = (0.03 R)^2, averaged over positions and channels.
    """
    x, y = x.double(), y.double()
    c = x.shape[1]
    w = _gaussian_window(window, sigma).to(x.device).expand(c, 1, window, window)

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(t, w, groups=c)

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return s.flatten(1).mean(1)


def paired_scores(pred: Tensor, target: Tensor) -> dict[str, float]:
    """L1, PSNR (dB) and SSIM of predictions vs targets, both (N, C, H, W) in [0, 1]."""
    return {
        "l1": float((pred.double() - target.double()).abs().mean()),
        "psnr": float(psnr(pred, target).mean()),
        "ssim": float(ssim(pred, target).mean()),
    }


def _unit01(x: Tensor) -> Tensor:
    return x.float().add(1).div(2).clamp(0, 1)


@torch.no_grad()
def _apply(fn: Callable[[Tensor], Tensor], x: Tensor, batch: int = 256) -> Tensor:
    return torch.cat([fn(x[i : i + batch]).float().cpu() for i in range(0, x.shape[0], batch)])


def fashion_classifier() -> Callable[[Tensor], Tensor]:
    """Logits of the shipped Fashion-MNIST classifier (``ganforge.metrics.features``)."""
    try:
        from ganforge.metrics.features import load_feature_extractor
    except ImportError:
        raise GanforgeError(
            "the CycleGAN class score needs ganforge.metrics.features (the Fashion-MNIST "
            "classifier), which this installation lacks"
        ) from None
    extractor = load_feature_extractor("fashion-mnist")
    return extractor.logits


@torch.no_grad()
def evaluate_run(
    run: Any, n: int = 0, classifier: Callable[[Tensor], Tensor] | None = None
) -> dict[str, Any]:
    """Scores of a loaded translation run (``api.load_run``) on its dataset's test split.

    ``n`` > 0 limits the number of test images. For CycleGAN on ``fmnist-sneaker2boot`` the
    class score uses ``classifier`` (a function images in [-1, 1] -> logits) or, by default,
    :func:`fashion_classifier`; it is skipped (None) for datasets without known classes.
    """
    from ganforge.data import load_dataset

    cfg, game = run.cfg, run.game
    data = load_dataset(cfg.dataset, "test", cfg.data_dir, cfg.image_size, cfg.channels)
    game.eval()
    dev = run.device
    if cfg.game == "pix2pix":
        pairs = data.images[:n] if n else data.images
        a_u8, b_u8 = pairs[:, : game.c], pairs[:, game.c :]
        a = a_u8.float().div(127.5).sub(1)
        pred = _apply(lambda t: game.G(t.to(dev)), a)
        target = b_u8.float() / 255
        out = {"game": "pix2pix", "test_images": int(pairs.shape[0])}
        out["model"] = paired_scores(_unit01(pred), target)
        out["identity_baseline"] = paired_scores(a_u8.float() / 255, target)
        out["blank_baseline"] = paired_scores(torch.zeros_like(target), target)
        return out
    if cfg.game != "cyclegan":
        raise GanforgeError(
            f"{run.path} is {a_or_an(cfg.game)} run, not an image-to-image translation"
        )
    xa = data.images[:n] if n else data.images
    xb = data.images_b[:n] if n else data.images_b
    a, b = xa.float().div(127.5).sub(1), xb.float().div(127.5).sub(1)
    ab = _apply(lambda t: game.G["AB"](t.to(dev)), a)
    ba = _apply(lambda t: game.G["BA"](t.to(dev)), b)
    aba = _apply(lambda t: game.G["BA"](t.to(dev)), ab)
    bab = _apply(lambda t: game.G["AB"](t.to(dev)), ba)
    out = {
        "game": "cyclegan",
        "test_images": [int(a.shape[0]), int(b.shape[0])],
        "cycle_l1_pm1": {"A": float((aba - a).abs().mean()), "B": float((bab - b).abs().mean())},
        "cycle_l1": {
            "A": float((_unit01(aba) - _unit01(a)).abs().mean()),
            "B": float((_unit01(bab) - _unit01(b)).abs().mean()),
        },
    }
    ca, cb = getattr(data, "class_a", -1), getattr(data, "class_b", -1)
    if ca >= 0 and cb >= 0:
        logits_fn = classifier or fashion_classifier()

        def share(images: Tensor, cls: int) -> float:
            pred = _apply(lambda t: logits_fn(t), images).argmax(1)
            return float((pred == cls).double().mean())

        out["target_class_accuracy"] = {"AtoB": share(ab, cb), "BtoA": share(ba, ca)}
        out["source_class_accuracy_real"] = {"A": share(a, ca), "B": share(b, cb)}
    else:
        out["target_class_accuracy"] = None
    return out
