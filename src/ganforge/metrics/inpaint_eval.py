"""Scores of an inpainting run (``ganforge translate RUN --eval`` on a ``game=inpaint`` run).

On the test split of the run's dataset, with the run's masks (the centre square, or random masks
drawn from seed 0, the same for every run scored), against the original images on [0, 1]:

- ``psnr_hole``: PSNR inside the hole only, 10 log10(1 / MSE_hole) per image with
  MSE_hole = sum M (y - x)^2 / (C sum M), averaged over images; ``psnr`` and ``ssim`` of the
  whole image (the known pixels are exact, so they raise both); ``l1_hole``.
- the **mean-fill baseline**: the hole filled with the training split's mean image (per-pixel
  mean; a stronger baseline than the mean pixel on centred objects such as Fashion-MNIST).
- ``fd``: Fréchet distance between our extractor's features of the filled test images and of
  the real test images (the shipped Fashion-MNIST extractor; images of another shape than
  1x28x28 get None), beside the mean-fill baseline's and, when given, a baseline run's (e.g.
  ``inpaint-l1``, reconstruction only) with the same masks.
"""

from __future__ import annotations

from typing import Any

import torch

from ganforge.errors import GanforgeError
from ganforge.metrics.frechet import frechet_distance
from ganforge.metrics.translation import psnr, ssim

Tensor = torch.Tensor
FD_SHAPE = (1, 28, 28)  # what the shipped extractor reads


def hole_psnr(pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """PSNR per image over the hole only; (N, C, S, S) in [0, 1], mask (N, 1, S, S) of 0/1."""
    m = mask.double().expand_as(pred)
    mse = ((pred.double() - target.double()).pow(2) * m).flatten(1).sum(1)
    mse = mse / m.flatten(1).sum(1).clamp_min(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-12))


def mean_fill(x01: Tensor, mask: Tensor, mean_image: Tensor) -> Tensor:
    """The baseline: ``mean_image`` (1, C, S, S) in the hole, the known pixels elsewhere."""
    return torch.where(mask > 0.5, mean_image.expand_as(x01), x01)


def scores(filled: Tensor, x01: Tensor, mask: Tensor) -> dict[str, float]:
    """PSNR in the hole and of the image, SSIM, L1 in the hole; all on [0, 1]."""
    m = mask.expand_as(x01)
    l1 = ((filled.double() - x01.double()).abs() * m).sum() / m.sum().clamp_min(1)
    return {
        "psnr_hole": float(hole_psnr(filled, x01, mask).mean()),
        "psnr": float(psnr(filled, x01).mean()),
        "ssim": float(ssim(filled, x01).mean()),
        "l1_hole": float(l1),
    }


@torch.no_grad()
def fill_all(run: Any, x01: Tensor, mask: Tensor, batch: int = 256) -> Tensor:
    """The run's inpainted images of ``x01`` (on [0, 1], CPU) with holes ``mask``."""
    out = []
    run.game.eval()
    for i in range(0, x01.shape[0], batch):
        x = x01[i : i + batch].mul(2).sub(1).to(run.device)
        y = run.game.fill(x, mask[i : i + batch].to(run.device))
        out.append(y.float().clamp(-1, 1).add(1).div(2).cpu())
    return torch.cat(out)


def _fd(extractor: Any, real: Tensor, fake: Tensor) -> float:
    return frechet_distance(extractor.features(real * 2 - 1), extractor.features(fake * 2 - 1))


@torch.no_grad()
def evaluate_inpaint(
    run: Any, n: int = 0, baseline: Any = None, extractor: Any = None
) -> dict[str, Any]:
    """Scores of a loaded inpaint run (and of ``baseline``, another loaded inpaint run) on the
    test split, ``n`` images (0 = all); ``extractor`` replaces the shipped one for FD."""
    from ganforge.data import load_dataset

    cfg = run.cfg
    if cfg.game != "inpaint":
        raise GanforgeError(f"{run.path} is not an inpaint run")
    if baseline is not None and baseline.game.data_shape != run.game.data_shape:
        raise GanforgeError(
            f"--baseline {baseline.path} fills {list(baseline.game.data_shape)} images, "
            f"{run.path} {list(run.game.data_shape)}: they cannot be compared"
        )
    test = load_dataset(cfg.dataset, "test", cfg.data_dir, cfg.image_size, cfg.channels)
    train = load_dataset(cfg.dataset, "train", cfg.data_dir, cfg.image_size, cfg.channels)
    x01 = (test.images[:n] if n else test.images).float() / 255
    mask = run.game.default_masks(x01.shape[0])
    mean_image = train.images.double().mean(0, keepdim=True).div(255).float()
    filled = fill_all(run, x01, mask)
    base = mean_fill(x01, mask, mean_image)
    out: dict[str, Any] = {
        "game": "inpaint",
        "test_images": int(x01.shape[0]),
        "mask": cfg.inpaint_mask,
        "hole_fraction": float(mask.mean()),
        "model": scores(filled, x01, mask),
        "mean_fill_baseline": scores(base, x01, mask),
    }
    other = fill_all(baseline, x01, mask) if baseline is not None else None
    if other is not None:
        out["baseline_run"] = {"run": str(baseline.path), **scores(other, x01, mask)}
    if extractor is None and tuple(run.game.data_shape) == FD_SHAPE:
        from ganforge.metrics.features import load_feature_extractor

        extractor = load_feature_extractor("fashion-mnist")
    if extractor is None or x01.shape[0] < 2:
        out["fd"] = None
        return out
    out["fd"] = {
        "model": _fd(extractor, x01, filled),
        "mean_fill_baseline": _fd(extractor, x01, base),
        "baseline_run": _fd(extractor, x01, other) if other is not None else None,
        "extractor": extractor.name,
    }
    return out
