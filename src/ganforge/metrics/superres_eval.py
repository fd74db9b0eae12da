"""Scores of a super-resolution run (SRResNet / SRGAN, Ledig et al. 2017, arXiv:1609.04802).

On the dataset's test split, the targets y, their bicubic downscales x (as in training) and
two upscales of x: the run's G(x) and plain bicubic interpolation (the baseline of the paper's
table 2). Each upscale gets, against the targets, on the [0, 1] scale:

- PSNR = 10 log10(1 / MSE) and SSIM (Wang et al. 2004; 11 x 11 Gaussian window, shrunk to
  the largest odd side that fits images under 11 px) per image, averaged
  (:mod:`ganforge.metrics.translation`);
- FD: the Fréchet distance (Heusel et al. 2017, arXiv:1706.08500) between the feature
  statistics of the upscales and of the targets, in the shipped Fashion-MNIST extractor's
  space, where the images are what it reads (1 x 28 x 28); None (with the reason) otherwise.

The paper's trade-off: SRResNet (MSE) has the best PSNR/SSIM, SRGAN a lower PSNR but outputs
whose statistics are closer to real images (here: a lower FD); both beat bicubic.
"""

from __future__ import annotations

from typing import Any

import torch

from ganforge.data import load_dataset
from ganforge.data.superres import bicubic_upscale, downscale
from ganforge.metrics.features import load_feature_extractor
from ganforge.metrics.frechet import frechet_distance
from ganforge.metrics.translation import psnr, ssim

Tensor = torch.Tensor
FD_SHAPE = (1, 28, 28)


def _unit01(x: Tensor) -> Tensor:
    return x.float().add(1).div(2).clamp(0, 1)


def image_scores(pred: Tensor, target: Tensor) -> dict[str, float]:
    """Mean PSNR (dB) and SSIM of ``pred`` vs ``target``, both (N, C, H, W) in [-1, 1]."""
    p, t = _unit01(pred), _unit01(target)
    side = min(p.shape[-2:])
    window = min(11, side - (1 - side % 2))  # the 11 px window, shrunk to fit small images
    return {"psnr": float(psnr(p, t).mean()), "ssim": float(ssim(p, t, window=window).mean())}


@torch.no_grad()
def upscale_all(G: torch.nn.Module, x: Tensor, device: Any, batch: int = 256) -> Tensor:
    """G on ``x`` in batches, clamped to [-1, 1], on the CPU."""
    out = [
        G(x[i : i + batch].to(device)).float().clamp(-1, 1).cpu() for i in range(0, len(x), batch)
    ]
    return torch.cat(out) if out else x.new_zeros(0)


def sr_scores(
    pred: Tensor, bicubic: Tensor, target: Tensor, features: Any | None = None
) -> dict[str, Any]:
    """PSNR/SSIM (and FD when ``features``, a function images -> (N, D), is given) of the
    model's upscales and of the bicubic baseline against the targets, all in [-1, 1]."""
    out: dict[str, Any] = {"model": image_scores(pred, target)}
    out["bicubic_baseline"] = image_scores(bicubic, target)
    if features is not None:
        real = features(target).double().numpy()
        out["model"]["fd"] = frechet_distance(real, features(pred).double().numpy())
        out["bicubic_baseline"]["fd"] = frechet_distance(real, features(bicubic).double().numpy())
    return out


def evaluate_superres(run: Any, n: int = 0) -> dict[str, Any]:
    """Scores of a loaded srresnet/srgan run (``api.load_run``) on ``n`` test images (0 = all)."""
    cfg, game = run.cfg, run.game
    data = load_dataset(cfg.dataset, "test", cfg.data_dir, cfg.image_size, cfg.channels)
    hr = data.images[:n] if n else data.images
    y = hr.float().div(127.5).sub(1)
    x = downscale(y, game.scale)
    game.eval()
    pred = upscale_all(run.G, x, run.device)
    bicubic = bicubic_upscale(x, game.scale)
    features, why = None, ""
    if tuple(y.shape[1:]) != FD_SHAPE:
        why = f"FD needs 1x28x28 images for the shipped extractor, these are {tuple(y.shape[1:])}"
    elif len(y) < 2:
        why = "FD needs at least 2 images (a covariance)"
    else:
        features = load_feature_extractor("fashion-mnist").features
    out: dict[str, Any] = {"game": cfg.game, "scale": game.scale, "test_images": int(len(y))}
    out.update(sr_scores(pred, bicubic, y, features))
    if why:
        out["fd_skipped"] = why
    return out
