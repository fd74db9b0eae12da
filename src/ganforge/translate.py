"""Apply a trained pix2pix/CycleGAN/inpaint run to image files: ``ganforge translate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ganforge.data.folder import IMAGE_SUFFIXES, list_images, load_image
from ganforge.data.masks import load_exact, load_mask
from ganforge.errors import GanforgeError, a_or_an

DIRECTIONS = ("AtoB", "BtoA")


def _inputs(path: Path) -> list[Path]:
    if path.is_dir():
        files = list_images(path)
        if not files:
            raise GanforgeError(
                f"no images in {path} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        return files
    if not path.exists():
        raise GanforgeError(f"--input {path} does not exist")
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise GanforgeError(f"--input {path} is not an image ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return [path]


@torch.no_grad()
def translate_files(
    run: Any,
    inputs: str | Path,
    out: str | Path,
    direction: str = "AtoB",
    batch: int = 64,
    mask: str | Path | None = None,
) -> list[Path]:
    """Translate every image of ``inputs`` (file or folder) with a loaded run and write PNGs
    of the same names under ``out``. Inputs are resized/centre-cropped to the run's size; an
    inpaint run fills the holes of images that must have its size (``mask``: a user's mask
    image, white = hole, instead of the run's own masks)."""
    game = run.game
    if not game.translates():
        raise GanforgeError(
            f"{run.path} is {a_or_an(run.cfg.game)} run: only pix2pix and cyclegan runs translate"
        )
    if direction not in DIRECTIONS:
        raise GanforgeError(f"bad --direction {direction!r}: use AtoB or BtoA")
    root = Path(inputs)
    files = _inputs(root)
    shape = game.data_shape
    channels = shape[0] // 2 if run.cfg.game == "pix2pix" else shape[0]
    size = shape[-1]
    inpaint = run.cfg.game == "inpaint"
    if mask is not None and not inpaint:
        raise GanforgeError(f"--mask fills holes: {run.path} is not an inpaint run")
    hole = load_mask(mask, size) if mask is not None else None
    read = load_exact if inpaint else load_image
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    game.eval()
    written: list[Path] = []
    for start in range(0, len(files), batch):
        chunk = files[start : start + batch]
        try:
            arr = np.stack([read(p, size, channels) for p in chunk])
        except GanforgeError as exc:
            raise GanforgeError(f"{exc}") from None
        x = torch.from_numpy(arr).float().div(127.5).sub(1).to(run.device)
        y = game.fill(x, hole) if hole is not None else game.translate(x, direction)
        y = y.float().clamp(-1, 1).add(1).mul(127.5).round()
        y = y.to(torch.uint8).cpu().numpy()
        for p, img in zip(chunk, y, strict=True):
            rel = p.relative_to(root) if root.is_dir() else Path(p.name)
            target = (out / rel).with_suffix(".png")
            target.parent.mkdir(parents=True, exist_ok=True)
            pil = Image.fromarray(img[0] if channels == 1 else img.transpose(1, 2, 0))
            pil.save(target)
            written.append(target)
    return written
