"""Apply a trained pix2pix/CycleGAN/StarGAN run to image files: ``ganforge translate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ganforge.config_superres import SR_GAMES
from ganforge.data.folder import IMAGE_SUFFIXES, list_images, load_image
from ganforge.errors import GanforgeError, a_or_an

DIRECTIONS = ("AtoB", "BtoA")


def input_files(path: Path) -> list[Path]:
    """The image files of ``path``: the file itself, or every image under the folder."""
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


def _same_size(files: list[Path], size: int) -> None:
    """Refuse an image that is not ``size`` x ``size``: StarGAN changes the domain of the very
    image given, so it is not resized behind the user's back."""
    for p in files:
        try:
            with Image.open(p) as img:
                w, h = img.size
        except (OSError, ValueError) as exc:
            raise GanforgeError(f"cannot read image {p}: {exc}") from None
        if (w, h) != (size, size):
            raise GanforgeError(
                f"{p} is {w}x{h}: this run translates {size}x{size} images; resize it first"
            )


@torch.no_grad()
def translate_files(
    run: Any,
    inputs: str | Path,
    out: str | Path,
    direction: str | None = None,
    batch: int = 64,
    to: str | None = None,
) -> list[Path]:
    """Translate every image of ``inputs`` (file or folder) with a loaded run and write PNGs
    of the same names under ``out``. Inputs are resized/centre-cropped to the run's size
    (pix2pix, CycleGAN); a StarGAN run takes images of its own size only and translates to
    the domain ``to`` (name or index), or with ``to="all"`` writes each input beside its
    translation to every domain."""
    game = run.game
    if not game.translates():
        raise GanforgeError(
            f"{run.path} is {a_or_an(run.cfg.game)} run: only pix2pix, cyclegan and stargan "
            "runs translate"
            + (" (super-resolution runs: ganforge upscale)" if run.cfg.game in SR_GAMES else "")
        )
    stargan = run.cfg.game == "stargan"
    if stargan and direction is not None:
        raise GanforgeError("--direction is for pix2pix/cyclegan runs: a stargan run takes --to")
    if stargan and to is None:
        raise GanforgeError("a stargan run translates to a domain: use --to NAME|INDEX|all")
    if not stargan and to is not None:
        raise GanforgeError(f"--to is for stargan runs; a {run.cfg.game} run takes --direction")
    direction = direction or "AtoB"
    if direction not in DIRECTIONS:
        raise GanforgeError(f"bad --direction {direction!r}: use AtoB or BtoA")
    if stargan and to.lower() != "all":
        game.domain_index(to)  # an unknown domain is refused before any file is read
    root = Path(inputs)
    files = input_files(root)
    shape = game.data_shape
    channels = shape[0] // 2 if run.cfg.game == "pix2pix" else shape[0]
    size = shape[-1]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    game.eval()
    written: list[Path] = []
    for start in range(0, len(files), batch):
        chunk = files[start : start + batch]
        if stargan:
            _same_size(chunk, size)
        try:
            arr = np.stack([load_image(p, size, channels) for p in chunk])
        except GanforgeError as exc:
            raise GanforgeError(f"{exc}") from None
        x = torch.from_numpy(arr).float().div(127.5).sub(1).to(run.device)
        y = game.translate_to(x, to) if stargan else game.translate(x, direction)
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
