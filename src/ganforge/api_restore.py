"""The API of restoration: ``upscale`` applies a super-resolution run (srresnet/srgan) to image
files. The CLI's ``upscale`` command calls only this.

G is fully convolutional, so an image of any size is upscaled by the run's factor r: an
h x w input gives an r h x r w PNG. The channel count must be the run's (gray runs take gray
images, RGB runs colour ones): anything else is a one-line error, never a silent conversion.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from ganforge.data.folder import to_8bit
from ganforge.errors import GanforgeError
from ganforge.games.superres import SRResNetGame
from ganforge.translate import input_files

if TYPE_CHECKING:
    from ganforge.training.loaded_run import LoadedRun

_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def _read(path: Path, channels: int) -> np.ndarray:
    """One image as (C, h, w) uint8 at its own size; its channel count must be ``channels``."""
    try:
        with Image.open(path) as img:
            img.load()
            gray = img.mode in _GRAY_MODES
            img = to_8bit(img).convert("L" if gray else "RGB")
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise GanforgeError(f"cannot read image {path}: {exc}") from None
    if (1 if gray else 3) != channels:
        kind = "gray" if gray else "colour"
        want = "gray (1-channel)" if channels == 1 else "RGB (3-channel)"
        raise GanforgeError(f"{path} is a {kind} image; this run upscales {want} images")
    arr = np.array(img, dtype=np.uint8)  # a writable copy for torch
    return arr[None] if gray else arr.transpose(2, 0, 1)


@torch.no_grad()
def upscale(
    run: str | Path | LoadedRun,
    inputs: str | Path,
    out: str | Path,
    *,
    force: bool = False,
    device: str = "auto",
) -> list[Path]:
    """Upscale ``inputs`` (an image file or a folder) with an srresnet/srgan run into PNGs of
    the same names under ``out``; an existing output file is replaced only with ``force``.
    Returns the written files."""
    from ganforge.training.loaded_run import LoadedRun, load_run

    loaded = run if isinstance(run, LoadedRun) else load_run(run, device=device)
    game = loaded.game
    if not isinstance(game, SRResNetGame):
        raise GanforgeError(
            f"{loaded.path} is a {loaded.cfg.game} run: upscale needs a srresnet or srgan run"
        )
    root = Path(inputs)
    files = input_files(root)
    out = Path(out)
    targets = [
        (out / (p.relative_to(root) if root.is_dir() else Path(p.name))).with_suffix(".png")
        for p in files
    ]
    taken = [t for t in targets if t.exists()]
    if taken and not force:
        raise GanforgeError(
            f"{taken[0]} exists; pass --force to replace it or choose another --out"
        )
    arrays = [_read(p, game.c) for p in files]  # every file checked before anything is written
    game.eval()
    written: list[Path] = []
    for arr, target in zip(arrays, targets, strict=True):
        x = torch.from_numpy(arr).float().div(127.5).sub(1)[None].to(loaded.device)
        y = game.upscale(x)[0].float().clamp(-1, 1).add(1).mul(127.5).round()
        img = y.to(torch.uint8).cpu().numpy()
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img[0] if game.c == 1 else img.transpose(1, 2, 0)).save(target)
        written.append(target)
    return written
