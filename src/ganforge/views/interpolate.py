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

In the intermediate space W of a style-based run (``space="w"``) the walk is a lerp of the
per-layer styles, ws(t) = (1 - t) ws0 + t ws1 with ws = mapping(z) (W is not Gaussian, so
the reference interpolates it linearly, Karras et al. 2019, arXiv:1812.04948); each step is
rendered under the same random state, so per-layer noise does not flicker along a walk.
A walk may also start and end at latents read from files (``ends``, see
:mod:`ganforge.latent_file`), one walk per latent in them.
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


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """(1 - t) z0 + t z1, row by row."""
    return (1 - t) * z0 + t * z1


def slerp(
    z0: torch.Tensor, z1: torch.Tensor, t: float | torch.Tensor, eps: float = 1e-7
) -> torch.Tensor:
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
    # t may be a float or a tensor broadcasting against the rows (PPL draws one t per row)
    a = torch.where(safe, torch.sin((1 - t) * omega) / so_safe, (1 - t) * torch.ones_like(so))
    b = torch.where(safe, torch.sin(t * omega) / so_safe, t * torch.ones_like(so))
    return a * z0 + b * z1


@dataclass
class Walk:
    """G's inputs for ``rows`` walks of ``steps`` steps, row-major: (rows * steps, in_dim)."""

    inputs: torch.Tensor
    rows: int
    steps: int
    label: str
    space: str = "z"


def _ends(ends, rows: int) -> int:
    """The walk count of latent files ``ends`` (both must hold as many latents)."""
    if ends is None:
        return rows
    n0, n1 = (next(iter(v.values())).shape[0] for v in ends)
    if n0 != n1:
        raise ConfigError(f"--from holds {n0} latents and --to {n1}: give files of equal size")
    return n0


def w_walk(
    game, G: torch.nn.Module, rows: int = 8, steps: int = 10, seed: int = 0, ends=None
) -> Walk:
    """A lerp walk in W between the ws of two draws (or of latent files ``ends``)."""
    if steps < 2:
        raise ConfigError(f"bad --steps {steps}: a walk needs at least 2 steps")
    if rows < 1:
        raise ConfigError(f"bad --rows {rows}: must be at least 1")
    device = next(G.parameters()).device
    if ends is None:
        gen = torch.Generator().manual_seed(seed)
        start = {k: v.to(device) for k, v in game.draw_inputs(rows, "cpu", gen).items()}
        z1 = game.draw_inputs(rows, "cpu", gen)["z"].to(device)
        with torch.no_grad():
            w0, w1 = game.to_w(G, start), game.to_w(G, {**start, "z": z1})
    else:
        rows = _ends(ends, rows)
        w0, w1 = (e["ws"].to(device) for e in ends)
    ts = [k / (steps - 1) for k in range(steps)]
    out = torch.stack([lerp(w0, w1, t) for t in ts], 1)
    return Walk(out.reshape(rows * steps, *w0.shape[1:]).cpu(), rows, steps, "lerp walk in W", "w")


def walk_inputs(
    game,
    rows: int = 8,
    steps: int = 10,
    mode: str = "slerp",
    seed: int = 0,
    classes: list[int] | None = None,
    ends: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]] | None = None,
) -> Walk:
    """Build the generator inputs of a latent walk (or a class morph when ``classes``), from
    two draws or between the z latents of files ``ends`` (their labels: the first file's)."""
    if mode not in MODES:
        raise ConfigError(f"bad --mode {mode!r}: choose lerp or slerp")
    if steps < 2:
        raise ConfigError(f"bad --steps {steps}: a walk needs at least 2 steps")
    if rows < 1:
        raise ConfigError(f"bad --rows {rows}: must be at least 1")
    gen = torch.Generator().manual_seed(seed)
    start = game.draw_inputs(rows, "cpu", gen)  # refused by games whose G takes images
    z0, z1 = start["z"], game.draw_inputs(rows, "cpu", gen)["z"]
    if ends is not None:
        if classes:
            raise ConfigError("--classes morphs drawn latents: drop --from/--to, or --classes")
        rows = _ends(ends, rows)
        start, z1 = dict(ends[0]), ends[1]["z"]
        z0 = start["z"]
    num_classes = game.describe().get("num_classes", 0)
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
        if "y" in start and ends is None:
            start["y"] = torch.arange(rows) % num_classes  # row r walks within class r
        mix = slerp if mode == "slerp" else lerp
        out = torch.stack([game.g_input({**start, "z": mix(z0, z1, t)}) for t in ts], 1)
        label = f"{mode} walk"
    return Walk(out.reshape(rows * steps, -1), rows, steps, label)


@torch.no_grad()
def render_walk(
    G: torch.nn.Module, walk: Walk, device: torch.device | str = "cpu", game=None
) -> torch.Tensor:
    """Images (rows * steps, C, H, W) in [-1, 1] on the CPU; G must be in eval mode. A walk in
    W is rendered by ``game``'s synthesis, one step at a time under the same random state."""
    if G.training:
        raise GanforgeError("render_walk needs G in eval mode (call G.eval())")
    if walk.space == "w":
        from ganforge.latent_file import with_fixed_noise

        ws = walk.inputs.reshape(walk.rows, walk.steps, *walk.inputs.shape[1:]).to(device)
        dev = torch.device(device)
        cols = [
            with_fixed_noise(dev, lambda k=k: game.render_w(G, ws[:, k])).float().clamp(-1, 1)
            for k in range(walk.steps)
        ]
        return torch.stack(cols, 1).reshape(walk.rows * walk.steps, *cols[0].shape[1:]).cpu()
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
    mode: str | None = None,
    classes: list[int] | None = None,
    rows: int = 8,
    seed: int = 0,
    out: str | Path | None = None,
    space: str = "z",
    ends: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]] | None = None,
) -> tuple[Path, Path]:
    """Write a walk of a loaded run's generator (EMA weights if present) as a PNG and a GIF.

    ``mode`` defaults to slerp in z, lerp in w (the only walk there).
    ``out`` names the PNG; the GIF goes next to it with the suffix ``.gif``. By default both
    are ``RUN/interpolate-<mode>``, ``RUN/interpolate-w`` or ``RUN/interpolate-classes-a-b``.
    """
    if space not in ("z", "w"):
        raise ConfigError(f"bad --space {space!r}: choose z or w")
    mode = mode or ("lerp" if space == "w" else "slerp")
    if space == "w":
        if "w" not in run.game.latent_spaces():
            raise ConfigError("--space w needs a style-based run (stylegan); this one has z only")
        if mode != "lerp" or classes:
            raise ConfigError("a walk in W is a lerp of styles: drop --mode slerp and --classes")
        walk = w_walk(run.game, run.G, rows, steps, seed, ends)
    else:
        walk = walk_inputs(run.game, rows, steps, mode, seed, classes, ends)
    images = render_walk(run.G, walk, run.device, run.game)
    if out is None:
        name = "classes-" + "-".join(map(str, classes)) if classes else mode
        name = "w" if space == "w" else name
        png = Path(run.path) / f"interpolate-{name}.png"
    else:
        png = Path(out)
        if png.suffix.lower() not in (".png", ""):
            raise GanforgeError(f"bad --out {png}: give a .png name (the GIF goes beside it)")
        png = png.with_suffix(".png")
    return write_walk(images, walk, png, png.with_suffix(".gif"))
