"""Latent walks and class morphs of a trained generator, as a grid PNG and a GIF.

A walk goes from latent ``z0`` to ``z1`` in ``K`` steps ``t = 0, 1/(K-1), ..., 1``:

- ``lerp``:  z(t) = (1 - t) z0 + t z1
- ``slerp``: z(t) = sin((1 - t) w) / sin(w) z0 + sin(t w) / sin(w) z1, with
  cos(w) = <z0, z1> / (|z0| |z1|) (White 2016, "Sampling Generative Networks",
  arXiv:1609.04468). Under a Gaussian prior, lerp's midpoints have a norm about 1/sqrt(2)
  of typical samples (they lie where the prior has almost no mass); slerp keeps the norm.

A class morph (conditional runs, ``classes=[a, b, ...]``) keeps z fixed per row and moves the
label part of G's input linearly from one-hot(a) to one-hot(b) (then on to the next class):
G is evaluated on convex mixtures of its conditioning vectors, as in Mirza & Osindero 2014.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ganforge.errors import ConfigError, GanforgeError

if TYPE_CHECKING:
    from ganforge.training.loaded_run import LoadedRun

MODES = ("lerp", "slerp")


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: float) -> torch.Tensor:
    """(1 - t) z0 + t z1, row by row."""
    return (1 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: float, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation of each row of ``z0`` towards the same row of ``z1``.

    Rows whose angle is (nearly) 0 or pi fall back to lerp, where sin(w) ~ 0 would divide by
    zero.
    """
    n0 = z0.norm(dim=1, keepdim=True)
    n1 = z1.norm(dim=1, keepdim=True)
    cos = ((z0 * z1).sum(1, keepdim=True) / (n0 * n1).clamp_min(eps)).clamp(-1.0, 1.0)
    omega = torch.acos(cos)
    so = torch.sin(omega)
    safe = so.abs() > 1e-4
    so_safe = torch.where(safe, so, torch.ones_like(so))
    a = torch.where(safe, torch.sin((1 - t) * omega) / so_safe, torch.full_like(so, 1 - t))
    b = torch.where(safe, torch.sin(t * omega) / so_safe, torch.full_like(so, t))
    return a * z0 + b * z1


@dataclass
class Walk:
    """G's inputs for ``rows`` walks of ``steps`` steps, row-major: (rows * steps, in_dim)."""

    inputs: torch.Tensor
    rows: int
    steps: int
    label: str


def walk_inputs(
    game,
    rows: int = 8,
    steps: int = 10,
    mode: str = "slerp",
    seed: int = 0,
    classes: list[int] | None = None,
) -> Walk:
    """Build the generator inputs of a latent walk (or a class morph when ``classes``)."""
    if mode not in MODES:
        raise ConfigError(f"bad --mode {mode!r}: choose lerp or slerp")
    if steps < 2:
        raise ConfigError(f"bad --steps {steps}: a walk needs at least 2 steps")
    if rows < 1:
        raise ConfigError(f"bad --rows {rows}: must be at least 1")
    gen = torch.Generator().manual_seed(seed)
    start = game.draw_inputs(rows, "cpu", gen)  # refused by games whose G takes images
    z0, z1 = start["z"], game.draw_inputs(rows, "cpu", gen)["z"]
    num_classes = game.describe()["num_classes"]
    ts = [k / (steps - 1) for k in range(steps)]
    if classes:
        if not num_classes:
            raise ConfigError("--classes needs a conditional run (cgan, acgan, projection, ...)")
        if len(classes) < 2:
            raise ConfigError("--classes needs at least two classes to morph between, e.g. 3,8")
        bad = [k for k in classes if not 0 <= k < num_classes]
        if bad:
            raise ConfigError(f"class {bad[0]} out of range: this run has 0..{num_classes - 1}")
        ends = [
            game.g_input({**start, "y": torch.full((rows,), k, dtype=torch.long)}) for k in classes
        ]
        frames = []
        for t in ts:
            u = t * (len(classes) - 1)
            seg = min(int(u), len(classes) - 2)
            f = u - seg
            frames.append((1 - f) * ends[seg] + f * ends[seg + 1])
        out = torch.stack(frames, 1)
        label = "classes " + " -> ".join(str(k) for k in classes)
    else:
        if "y" in start:
            start["y"] = torch.arange(rows) % num_classes  # row r walks within class r
        mix = slerp if mode == "slerp" else lerp
        out = torch.stack([game.g_input({**start, "z": mix(z0, z1, t)}) for t in ts], 1)
        label = f"{mode} walk"
    return Walk(out.reshape(rows * steps, -1), rows, steps, label)


@torch.no_grad()
def render_walk(G: torch.nn.Module, walk: Walk, device: torch.device | str = "cpu") -> torch.Tensor:
    """Images (rows * steps, C, H, W) in [-1, 1] on the CPU; G must be in eval mode."""
    if G.training:
        raise GanforgeError("render_walk needs G in eval mode (call G.eval())")
    chunks = [
        G(walk.inputs[i : i + 256].to(device)).float().clamp(-1, 1).cpu()
        for i in range(0, walk.inputs.shape[0], 256)
    ]
    images = torch.cat(chunks)
    if images.dim() != 4:
        raise GanforgeError(
            f"interpolate draws images; this generator makes {tuple(images.shape[1:])} samples"
        )
    return images


def write_walk(
    images: torch.Tensor, walk: Walk, png: Path, gif: Path, frame_ms: int = 120
) -> tuple[Path, Path]:
    """Grid PNG (one row per walk, one column per step) and a ping-pong GIF over the steps."""
    from PIL import Image

    from ganforge.views.grids import make_grid, to_pil

    h = images.shape[-2]
    scale = max(1, math.ceil(48 / h))
    save_png = to_pil(make_grid(images, nrow=walk.steps))
    if scale > 1:
        save_png = save_png.resize(
            (save_png.width * scale, save_png.height * scale), Image.Resampling.NEAREST
        )
    png.parent.mkdir(parents=True, exist_ok=True)
    save_png.save(png)
    per_step = images.reshape(walk.rows, walk.steps, *images.shape[1:])
    nrow = max(1, math.ceil(math.sqrt(walk.rows)))
    frames = []
    for k in range(walk.steps):
        im = to_pil(make_grid(per_step[:, k], nrow=nrow)).convert("RGB")
        frames.append(im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST))
    order = list(range(walk.steps)) + list(range(walk.steps - 2, 0, -1))
    seq = [frames[k] for k in order]
    gif.parent.mkdir(parents=True, exist_ok=True)
    seq[0].save(gif, format="GIF", save_all=True, append_images=seq[1:], duration=frame_ms, loop=0)
    return png, gif


def interpolate(
    run: LoadedRun,
    steps: int = 10,
    mode: str = "slerp",
    classes: list[int] | None = None,
    rows: int = 8,
    seed: int = 0,
    out: str | Path | None = None,
) -> tuple[Path, Path]:
    """Write a walk of a loaded run's generator (EMA weights if present) as a PNG and a GIF.

    ``out`` names the PNG; the GIF goes next to it with the suffix ``.gif``. By default both
    are ``RUN/interpolate-<mode>`` or ``RUN/interpolate-classes-a-b``.
    """
    walk = walk_inputs(run.game, rows, steps, mode, seed, classes)
    images = render_walk(run.G, walk, run.device)
    if out is None:
        name = "classes-" + "-".join(map(str, classes)) if classes else mode
        png = Path(run.path) / f"interpolate-{name}.png"
    else:
        png = Path(out)
        if png.suffix.lower() not in (".png", ""):
            raise GanforgeError(f"bad --out {png}: give a .png name (the GIF goes beside it)")
        png = png.with_suffix(".png")
    return write_walk(images, walk, png, png.with_suffix(".gif"))
