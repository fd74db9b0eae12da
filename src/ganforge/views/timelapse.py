"""RUN/timelapse.gif: the fixed-latent grids of a run, one GIF frame per saved grid (Pillow)."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image, ImageDraw

from ganforge.errors import GanforgeError

GRID_NAME = re.compile(r"^step-(\d+)\.png$")


def saved_grids(run: str | Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of every ``RUN/samples/step-XXXXXX.png``, in step order."""
    folder = Path(run) / "samples"
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        m = GRID_NAME.match(path.name)
        if m and path.is_file():
            found.append((int(m.group(1)), path))
    return sorted(found)


def labelled_frame(path: Path, step: int, scale: int) -> Image.Image:
    """The grid enlarged ``scale`` times (nearest neighbour) under a band reading 'step N'.

    The label also keeps consecutive frames distinct: Pillow merges identical consecutive GIF
    frames, which would break 'one frame per grid' for a run whose samples stopped changing.
    """
    with Image.open(path) as im:
        grid = im.convert("RGB")
    if scale > 1:
        grid = grid.resize((grid.width * scale, grid.height * scale), Image.Resampling.NEAREST)
    band = 16
    frame = Image.new("RGB", (grid.width, grid.height + band), "white")
    frame.paste(grid, (0, band))
    ImageDraw.Draw(frame).text((3, 2), f"step {step}", fill="black")
    return frame


def write_timelapse(
    run: str | Path,
    out: str | Path | None = None,
    frame_ms: int = 400,
    hold_last_ms: int = 1500,
    min_width: int = 160,
) -> Path:
    """Write the grids over training as an endlessly looping GIF; returns its path.

    One frame per saved grid, shown ``frame_ms`` each (the last held ``hold_last_ms``); small
    grids (e.g. 8x8 digits) are enlarged by an integer factor to at least ``min_width`` pixels.
    """
    if frame_ms < 20 or hold_last_ms < 20:
        raise GanforgeError("GIF frames need at least 20 ms each")
    grids = saved_grids(run)
    if not grids:
        raise GanforgeError(
            f"{run} has no sample grids (samples/step-*.png): train it first, or is it a run?"
        )
    with Image.open(grids[-1][1]) as im:
        width = im.width
    scale = max(1, -(-min_width // max(1, width)))
    frames = [labelled_frame(path, step, scale) for step, path in grids]
    size = frames[-1].size
    frames = [f if f.size == size else f.resize(size, Image.Resampling.NEAREST) for f in frames]
    out = Path(out) if out is not None else Path(run) / "timelapse.gif"
    out.parent.mkdir(parents=True, exist_ok=True)
    durations = [frame_ms] * (len(frames) - 1) + [hold_last_ms]
    tmp = out.with_name(f".{out.name}.tmp")
    frames[0].save(
        tmp,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=0,
        optimize=False,
    )
    tmp.replace(out)
    return out
