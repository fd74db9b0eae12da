"""Inversion: the latent whose image matches a given image (the StyleGAN2 projector, Karras
et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN", arXiv:1912.04958,
appendix D).

Minimise over the latent v (and G's noise maps n_i, when the game exposes them)

    L = d(G(v + sigma(t) e), x) + lambda_pix |G(v + sigma(t) e) - x|^2_mean
        + lambda_noise sum_i sum_{scales} ( mean(n * roll_x(n))^2 + mean(n * roll_y(n))^2 ),

with d the perceptual distance (:mod:`ganforge.metrics.perceptual`), lambda_pix = 1,
e ~ N(0, I) fresh at each step, and Adam(beta 0.9, 0.999) at the projector's learning rate
lr(t) = 0.1 * (0.5 - 0.5 cos(pi min(1, (1 - t) / 0.25))) * min(1, t / 0.05), t = step / steps.
Latent noise sigma(t) = s * 0.05 * max(0, 1 - t / 0.75)^2.

- ``w`` space (style-based runs): v starts at the average w of 10,000 mapped z and s is their
  spread, sqrt(E|w - w_avg|^2); v is one w broadcast to every layer, or one per layer
  (``per_layer``, "W+"). The noise regulariser (weight 1e5) penalises autocorrelation of each
  noise map at every scale down to 8 px; the maps are renormalised (zero mean, unit variance)
  after each step.
- ``z`` space (other latent recipes): v = z starts at 0, the prior's mean, with s = 1; labels
  and InfoGAN codes stay fixed (given, or the run's first fixed sample's). No noise maps.

A game without noise maps (``noise_buffers`` returns []) skips the regulariser; every render
runs under a fixed random state, so a generator that draws noise at each call sees the same
noise throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.latent_file import with_fixed_noise

LR = 0.1
NOISE_FACTOR = 0.05
NOISE_RAMP = 0.75
LR_RAMPDOWN = 0.25
LR_RAMPUP = 0.05
NOISE_WEIGHT = 1e5
PIXEL_WEIGHT = 1.0
AVG_SAMPLES = 10_000


def learning_rate(t: float, lr0: float = LR) -> float:
    """The projector's schedule at progress ``t`` in [0, 1]: linear ramp-up over the first 5%,
    cosine ramp-down over the last 25%."""
    ramp = min(1.0, (1.0 - t) / LR_RAMPDOWN)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return lr0 * ramp * min(1.0, t / LR_RAMPUP)


def latent_noise_scale(t: float, spread: float) -> float:
    """sigma(t) = spread * 0.05 * max(0, 1 - t / 0.75)^2."""
    return spread * NOISE_FACTOR * max(0.0, 1.0 - t / NOISE_RAMP) ** 2


def noise_regularizer(maps: list[torch.Tensor]) -> torch.Tensor:
    """Sum over maps and scales (halved down to 8 px) of the squared mean products of each
    map with its one-pixel shifts along x and y."""
    total = maps[0].new_zeros(())
    for n in maps:
        v = n.reshape(1, 1, *n.shape[-2:])
        while True:
            total = total + (v * v.roll(1, 3)).mean() ** 2 + (v * v.roll(1, 2)).mean() ** 2
            if min(v.shape[-2:]) <= 8:
                break
            v = F.avg_pool2d(v, 2)
    return total


@dataclass
class Projection:
    """The found latent (``space``, ``latent``, the other ``inputs``, the ``noise`` maps), its
    image, and the loss per step."""

    space: str
    latent: torch.Tensor
    inputs: dict[str, torch.Tensor]
    image: torch.Tensor
    losses: list[float] = field(default_factory=list)
    noise: list[torch.Tensor] = field(default_factory=list)


def w_statistics(game, G: nn.Module, n: int, seed: int, device) -> tuple[torch.Tensor, float]:
    """(average ws (1, num_ws, w_dim), spread sqrt(E|w - w_avg|^2)) of ``n`` mapped z."""
    gen = torch.Generator().manual_seed(seed)
    chunks = []
    with torch.no_grad():
        for start in range(0, n, 1000):
            inputs = game.draw_inputs(min(1000, n - start), "cpu", gen)
            chunks.append(game.to_w(G, {k: v.to(device) for k, v in inputs.items()}).double())
    ws = torch.cat(chunks)
    avg = ws.mean(0, keepdim=True)
    spread = float((ws - avg)[:, 0].pow(2).sum(1).mean().sqrt())
    return avg.float(), spread


def project(
    game,
    G: nn.Module,
    target: torch.Tensor,
    distance: nn.Module,
    steps: int = 1000,
    space: str = "w",
    per_layer: bool = False,
    inputs: dict[str, torch.Tensor] | None = None,
    seed: int = 0,
    pixel_weight: float = PIXEL_WEIGHT,
    avg_samples: int = AVG_SAMPLES,
) -> Projection:
    """Project ``target`` (1, C, H, W) in [-1, 1] into ``space``; ``inputs`` are the fixed
    non-z inputs in Z (labels, codes: from ``game.fixed_inputs`` when None)."""
    if steps < 1:
        raise GanforgeError(f"bad --steps {steps}: must be at least 1")
    if space not in game.latent_spaces():
        raise GanforgeError(
            f"this run has no {space} space (it has {', '.join(game.latent_spaces())})"
        )
    if per_layer and space != "w":
        raise GanforgeError("--per-layer needs the w space of a style-based run")
    device = next(G.parameters()).device
    target = target.to(device)
    flags = [p.requires_grad for p in G.parameters()]
    G.requires_grad_(False)  # gradients flow to the latent (and noise maps) only
    fixed = {k: v.to(device) for k, v in (inputs or game.fixed_inputs(1, seed)).items()}
    if space == "w":
        avg, spread = w_statistics(game, G, avg_samples, seed, device)
        start = avg if per_layer else avg.mean(1, keepdim=True)
        num_ws = avg.shape[1]
    else:
        start, spread, num_ws = torch.zeros_like(fixed["z"]), 1.0, 0
    v = start.clone().requires_grad_(True)
    maps = list(game.noise_buffers(G)) if space == "w" else []
    saved = [b.clone() for b in maps]
    gen = torch.Generator(device=device).manual_seed(seed)
    for b in maps:
        b.copy_(torch.randn(b.shape, generator=gen, device=device)).requires_grad_(True)
    opt = torch.optim.Adam([v, *maps], lr=LR, betas=(0.9, 0.999))

    def render(latent: torch.Tensor) -> torch.Tensor:
        if space == "w":
            ws = latent if per_layer else latent.expand(-1, num_ws, -1)
            return with_fixed_noise(device, lambda: game.render_w(G, ws))
        return with_fixed_noise(device, lambda: G(game.g_input({**fixed, "z": latent})))

    losses = []
    try:
        for step in range(steps):
            t = step / steps
            for group in opt.param_groups:
                group["lr"] = learning_rate(t)
            e = torch.randn(v.shape, generator=gen, device=device)
            image = render(v + latent_noise_scale(t, spread) * e)
            if not image.requires_grad:
                raise GanforgeError(
                    f"this run's generator renders {space} without gradients: it cannot be "
                    "projected (its game's render_w must not run under no_grad)"
                )
            loss = distance(image, target).sum() + pixel_weight * (image - target).pow(2).mean()
            if maps:
                loss = loss + NOISE_WEIGHT * noise_regularizer(maps)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            with torch.no_grad():
                for b in maps:  # the projector keeps each map zero-mean, unit-variance
                    b.sub_(b.mean()).mul_(b.pow(2).mean().rsqrt())
        with torch.no_grad():
            image = render(v).float().clamp(-1, 1)
            latent = v.detach().expand(-1, num_ws, -1) if space == "w" else v.detach()
            found = [b.detach().clone() for b in maps]
    finally:
        with torch.no_grad():
            for b, s in zip(maps, saved, strict=True):
                b.requires_grad_(False).copy_(s)
            for p, flag in zip(G.parameters(), flags, strict=True):
                p.requires_grad_(flag)
    rest = {k: v_ for k, v_ in fixed.items() if k != "z"}
    return Projection(space, latent.clone(), rest, image.cpu(), losses, found)


def load_target(path, shape: tuple[int, ...]) -> torch.Tensor:
    """The PNG/JPEG at ``path`` as (1, C, H, W) in [-1, 1], checked against the run's image
    ``shape`` (C, H, W): a grayscale image for a one-channel run, RGB for a three-channel one,
    the run's size (never resized silently)."""
    from pathlib import Path

    import numpy as np
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise GanforgeError(f"image {path} not found")
    c, h, w = shape
    try:
        with Image.open(path) as im:
            im.load()
            mode, size = im.mode, im.size
            arr = np.asarray(im)
    except (UnidentifiedImageError, OSError) as exc:
        raise GanforgeError(f"cannot read {path} as an image ({type(exc).__name__})") from None
    want = {1: "L", 3: "RGB"}[c]
    if mode != want:
        what = {"L": "grayscale", "RGB": "RGB"}
        raise GanforgeError(
            f"{path} is a {mode} image; this run makes {c}-channel images: give a "
            f"{what[want]} ({want}) PNG of {w}x{h}"
        )
    if size != (w, h):
        raise GanforgeError(
            f"{path} is {size[0]}x{size[1]}; this run makes {w}x{h} images: resize it first"
        )
    x = torch.from_numpy(arr.copy()).float().reshape(h, w, c).permute(2, 0, 1)
    return x.unsqueeze(0).mul(2.0 / 255.0).sub(1.0)
