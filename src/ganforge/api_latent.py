"""The API's latent tools: the style-mixing grid, projection of an image into a run's latent
space, and rendering a latent file (``ganforge mix``, ``project``, ``sample --latent``).

Runs are loaded here and handed to :mod:`ganforge.views.mix`, :mod:`ganforge.invert` and
:mod:`ganforge.latent_file`. PPL runs through ``api.evaluate`` (``metrics=ppl``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganforge.errors import GanforgeError
from ganforge.invert import load_target
from ganforge.invert import project as _project
from ganforge.latent_file import load_latent, render_latent, save_latent
from ganforge.metrics.features import extractor_for_dataset
from ganforge.metrics.perceptual import load_distance
from ganforge.run_dir import ensure_writable, result_folder, write_json
from ganforge.training.loaded_run import LoadedRun, load_run
from ganforge.views.grids import make_grid, write_grid
from ganforge.views.mix import mixing_grid, write_mix


def _loaded(run: str | Path | LoadedRun, device: str) -> LoadedRun:
    return run if isinstance(run, LoadedRun) else load_run(run, device=device)


def _png(out: str | Path) -> Path:
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise GanforgeError(f"bad --out {out}: give a .png file name")
    ensure_writable(out.parent, f"--out {out}")
    return out


def mix(
    run: str | Path | LoadedRun,
    rows: int = 4,
    cols: int = 4,
    out: str | Path | None = None,
    seed: int = 0,
    device: str = "auto",
) -> Path:
    """The style-mixing grid of a style-based run as a PNG (default RUN/mix.png); the layout
    is in :mod:`ganforge.views.mix`."""
    loaded = _loaded(run, device)
    loaded.game.style_layers()  # one line for runs without styles, before any work
    png = _png(out or Path(loaded.path) / "mix.png")
    grid = mixing_grid(loaded.game, loaded.G, rows, cols, seed, str(loaded.device))
    return write_mix(grid, png)


def distance_for(run: LoadedRun, spec: str | None) -> torch.nn.Module:
    """The perceptual distance ``spec``, or by default the trunk of the run's dataset's
    shipped extractor (fashion-mnist's for datasets without one)."""
    return load_distance(spec or extractor_for_dataset(run.cfg.dataset), run.device)


def project(
    run: str | Path | LoadedRun,
    image: str | Path,
    steps: int = 1000,
    out: str | Path | None = None,
    *,
    space: str | None = None,
    per_layer: bool = False,
    classes: list[int] | None = None,
    distance: str | None = None,
    seed: int = 0,
    force: bool = False,
    device: str = "auto",
) -> dict[str, Any]:
    """Project ``image`` into ``run``'s latent space (w for style-based runs, z otherwise);
    writes OUT/projection.png (target | projection), OUT/latent.pt (a latent file) and
    OUT/result.json (default OUT: RUN/project-IMAGE, or the next free name). Returns the
    facts written to result.json."""
    loaded = _loaded(run, device)
    spaces = loaded.game.latent_spaces()
    if not spaces:
        raise GanforgeError("this run's generator takes images, not latents: nothing to project")
    space = space or ("w" if "w" in spaces else "z")
    if space not in spaces:
        raise GanforgeError(f"--space {space}: this run has {', '.join(spaces)}")
    shape = tuple(loaded.game.describe()["data_shape"])
    if len(shape) != 3:
        raise GanforgeError(f"project works on images; this run makes {shape} samples")
    target = load_target(image, shape)
    inputs = None
    if classes:
        if len(classes) != 1:
            raise GanforgeError("--class takes one class for a projection")
        inputs = loaded.game.fixed_inputs(1, seed, classes=classes)
        if "y" not in inputs:
            raise GanforgeError("--class needs a class-conditional run")
    if classes and space == "w":
        raise GanforgeError("--class fixes labels in z: drop it for a w projection")
    dist = distance_for(loaded, distance)
    folder = result_folder(out, Path(loaded.path) / f"project-{Path(image).stem}", force)
    ensure_writable(folder, f"--out {folder}")
    found = _project(loaded.game, loaded.G, target, dist, steps, space, per_layer, inputs, seed)
    write_grid(make_grid(torch.cat([target, found.image]), nrow=2), folder / "projection.png",
               scale=max(1, -(-48 // shape[-1])))  # fmt: skip
    save_latent(folder / "latent.pt", space, found.latent, found.inputs, str(loaded.path),
                found.noise)  # fmt: skip
    facts = {
        "image": str(image),
        "space": space,
        "per_layer": per_layer,
        "steps": steps,
        "distance": str(dist.name),
        "noise_maps": len(found.noise),
        "pixel_mse": float((found.image - target).pow(2).mean()),
        "final_loss": found.losses[-1],
        "latent": str(folder / "latent.pt"),
        "projection": str(folder / "projection.png"),
    }
    write_json(folder / "result.json", facts)
    return facts


def sample_latent(
    run: str | Path | LoadedRun,
    latent: str | Path,
    out: str | Path | None = None,
    device: str = "auto",
) -> tuple[Path, int]:
    """The images of a latent file (``ganforge project``'s latent.pt) as a PNG grid (default
    RUN/latent.png) or a .npy; returns (path, number of images)."""
    loaded = _loaded(run, device)
    space, value = load_latent(latent, loaded.game, loaded.G)
    images = render_latent(loaded.game, loaded.G, space, value)
    out = Path(out or Path(loaded.path) / "latent.png")
    if out.suffix.lower() == ".npy":
        import numpy as np

        ensure_writable(out.parent, f"--out {out}")
        np.save(out, images.numpy().astype("float32"))
    else:
        write_grid(make_grid(images), _png(out))
    return out, images.shape[0]


def latent_ends(
    run: LoadedRun, start: str | Path, end: str | Path, space: str
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The two latent files of ``interpolate --from --to``, both of ``space``."""
    ends = [load_latent(p, run.game, run.G) for p in (start, end)]
    for (got, _), p in zip(ends, (start, end), strict=True):
        if got != space:
            raise GanforgeError(f"{p} holds a {got} latent: pass --space {got}")
    return ends[0][1], ends[1][1]
