"""ProGAN and StyleGAN on a folder of RGB images, then projection of training images (issue 20).

Makes ``--count`` procedural 64x64 RGB pictures (a coloured disc and a square on a two-colour
gradient, every parameter drawn from one seeded generator) in ``--data``, trains ``progan``
and ``stylegan`` on ``folder:DATA`` for ``--minutes`` each, and projects ``--project`` of the
training images into each run (``ganforge project``: w for stylegan, z for progan). The table
compares the projection's pixel error with the error of the trivial reconstruction, the mean
training image (MSE on [-1, 1]). A picture shows target | stylegan | progan per image.

Runs are ordinary run folders under ``--runs``; a re-run skips finished runs and resumes
interrupted ones. Wall-clock budgets mean something only on a quiet machine.

    python benchmarks/rgb_folder.py --minutes 5 --doc docs/bench --img docs/img
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganforge import api_latent
from ganforge.invert import load_target
from ganforge.latent_file import load_latent, render_latent
from ganforge.training.loaded_run import load_run
from ganforge.views.grids import make_grid, write_grid

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_runs import train_for  # noqa: E402
from machine import cpu_description, load_average  # noqa: E402

RECIPES = ("stylegan", "progan")


def make_pictures(folder: Path, count: int, size: int, seed: int) -> None:
    """``count`` pictures of ``size`` px: gradient background, one disc, one square."""
    if folder.is_dir() and len(list(folder.glob("*.png"))) == count:
        return
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    for i in range(count):
        top, bottom = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
        img = (1 - yy)[..., None] * top + yy[..., None] * bottom
        cx, cy, r = rng.uniform(0.25, 0.75, 2).tolist() + [rng.uniform(0.1, 0.25)]
        img[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = rng.uniform(0, 1, 3)
        x0, y0 = rng.integers(0, size * 3 // 4, 2)
        side = int(rng.integers(size // 8, size // 3))
        img[y0 : y0 + side, x0 : x0 + side] = rng.uniform(0, 1, 3)
        Image.fromarray((img * 255).round().astype(np.uint8), "RGB").save(folder / f"{i:04d}.png")


def train(recipe: str, run: Path, data: Path, args: argparse.Namespace) -> dict:
    extra = {"progan_phase_images": args.phase_images} if recipe == "progan" else {}
    return train_for(recipe, run, args.minutes, dataset=f"folder:{data}", image_size=args.size,
                     seed=args.seed, **extra)  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--count", type=int, default=300, help="pictures in the folder")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--phase-images", type=int, default=4000, help="progan images per phase")
    p.add_argument("--project", type=int, default=4, help="training images projected")
    p.add_argument("--steps", type=int, default=300, help="projection steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", type=Path, default=Path("runs/rgb-shapes"))
    p.add_argument("--runs", type=Path, default=Path("runs/rgb-bench"))
    p.add_argument("--doc", type=Path, default=Path("docs/bench"))
    p.add_argument("--img", type=Path, default=Path("docs/img"))
    args = p.parse_args()
    load = load_average()
    print(f"load average {load}", flush=True)
    make_pictures(args.data, args.count, args.size, args.seed)
    files = sorted(args.data.glob("*.png"))
    shape = (3, args.size, args.size)
    reals = torch.cat([load_target(f, shape) for f in files])
    mean = reals.mean(0, keepdim=True)
    picks = files[:: max(1, len(files) // args.project)][: args.project]
    rows, shown = [], {}
    for recipe in RECIPES:
        run = args.runs / recipe
        facts = train(recipe, run, args.data, args)
        errs, mean_errs, images = [], [], []
        for f in picks:
            out = run / f"project-{f.stem}"
            res = api_latent.project(run, f, args.steps, out, seed=args.seed, force=True,
                                     device="cpu")  # fmt: skip
            target = load_target(f, shape)
            errs.append(res["pixel_mse"])
            mean_errs.append(float((mean - target).pow(2).mean()))
            with Image.open(out / "projection.png") as im:
                images.append(np.asarray(im.convert("RGB")))
        shown[recipe] = images
        rows.append({"recipe": recipe, "steps": facts.get("steps"),
                     "wall_seconds": facts.get("wall_seconds"),
                     "projection_mse": float(np.mean(errs)), "mean_image_mse": float(np.mean(mean_errs)),
                     "per_image": list(zip(errs, mean_errs, strict=True))})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    picture(args, picks, shape)
    write_doc(args, rows, load)


def picture(args: argparse.Namespace, picks: list[Path], shape: tuple[int, ...]) -> None:
    """Rows of target | stylegan's projection | progan's projection."""
    loaded = {r: load_run(args.runs / r, device="cpu") for r in RECIPES}
    tiles = []
    for f in picks:
        tiles.append(load_target(f, shape))
        for recipe, run in loaded.items():
            latent = args.runs / recipe / f"project-{f.stem}" / "latent.pt"
            space, value = load_latent(latent, run.game, run.G)
            tiles.append(render_latent(run.game, run.G, space, value))
    write_grid(make_grid(torch.cat(tiles), nrow=1 + len(RECIPES)), args.img / "rgb-projection.png",
               scale=2)  # fmt: skip


def write_doc(args: argparse.Namespace, rows: list[dict], load: str) -> None:
    cpu = cpu_description()
    lines = [
        "# ProGAN and StyleGAN on a folder of RGB pictures, with projection (issue 20)",
        "",
        f"Generated by `python benchmarks/rgb_folder.py --minutes {args.minutes:g}` on {cpu} "
        f"(load average at start {load}), torch {torch.__version__}. {args.count} "
        f"procedural {args.size}x{args.size} RGB pictures (gradient, disc, square); each recipe "
        f"trains {args.minutes:g} minutes on `folder:`, then `ganforge project` reconstructs "
        f"{args.project} training images ({args.steps} steps; w for stylegan, z for progan; "
        f"progan with {args.phase_images} images per phase).",
        "",
        "**Result.** Projection error over the mean image's error (below 1: the projection "
        "reconstructs the training image better than the mean image): "
        + ", ".join(
            f"`{r['recipe']}` {r['projection_mse'] / r['mean_image_mse']:.2f}" for r in rows
        )
        + ".",
        "",
        "| recipe | G steps | projection MSE | mean-image MSE | ratio |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['recipe']}` | {r['steps']} | {r['projection_mse']:.4f} | "
            f"{r['mean_image_mse']:.4f} | {r['projection_mse'] / r['mean_image_mse']:.2f} |"
        )
    lines += [
        "",
        "MSE on [-1, 1] pixels, averaged over the projected images. The mean image is the "
        "average of the whole training folder, the best single constant reconstruction.",
        "",
        "![target, stylegan, progan per row](../img/rgb-projection.png)",
    ]
    args.doc.mkdir(parents=True, exist_ok=True)
    (args.doc / "rgb_folder.md").write_text("\n".join(lines) + "\n")
    (args.doc / "rgb_folder.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(f"wrote {args.doc / 'rgb_folder.md'}")


if __name__ == "__main__":
    main()
