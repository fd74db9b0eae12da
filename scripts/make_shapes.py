"""A procedural RGB image folder for experiments and tests: coloured shapes on varied backgrounds.

Each picture is a two-colour gradient background with one to three filled shapes (ellipse,
rectangle, triangle) of random colour, size and place. Deterministic for a seed, so a run on it
can be repeated. Usage: ``python scripts/make_shapes.py OUT [--n 300] [--size 64] [--seed 0]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def shape_image(rng: np.random.Generator, size: int) -> Image.Image:
    """One ``size`` x ``size`` RGB picture (drawn at 4x and downsampled, for smooth edges)."""
    big = size * 4
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:big, 0:big] / (big - 1)
    t = np.clip(0.5 + (xx - 0.5) * np.cos(angle) + (yy - 0.5) * np.sin(angle), 0, 1)[..., None]
    bg = ((1 - t) * c0 + t * c1).astype(np.uint8)
    img = Image.fromarray(bg, "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(1, 4))):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        w, h = rng.uniform(0.2, 0.6, 2) * big
        x, y = rng.uniform(0, big - w), rng.uniform(0, big - h)
        kind = rng.integers(3)
        if kind == 0:
            draw.ellipse([x, y, x + w, y + h], fill=colour)
        elif kind == 1:
            draw.rectangle([x, y, x + w, y + h], fill=colour)
        else:
            draw.polygon([(x, y + h), (x + w, y + h), (x + w / 2, y)], fill=colour)
    return img.resize((size, size), Image.Resampling.LANCZOS)


def make_shapes(out: str | Path, n: int = 300, size: int = 64, seed: int = 0) -> Path:
    """Write ``n`` PNGs of coloured shapes into ``out`` (created); returns ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        shape_image(rng, size).save(out / f"shape{i:05d}.png")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(make_shapes(args.out, args.n, args.size, args.seed))


if __name__ == "__main__":
    main()
