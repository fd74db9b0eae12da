"""``ganforge sample``'s output file: a PNG grid or a .npy streamed chunk by chunk.

A .npy of ``--n 10000000`` samples is 31 GB: it is written as the .npy header followed by
one generator batch at a time (never the whole array in memory, nor a copy of it), into a
temporary file beside the target that is renamed over it at the end, after checking up front
that the disk has room for it. Runs trained with ``rejection=drs`` filter G's samples
through D (``rejection.py``), which holds its accepted samples; those are written the same way.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from ganforge.errors import GanforgeError
from ganforge.run_dir import ensure_writable

MAX_GRID = 10_000  # a PNG grid of more samples is not a picture anyone can look at
SLACK = 64 << 20  # bytes kept free beyond the file itself


def _size(nbytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if nbytes < 1000 or unit == "TB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    return ""  # unreachable


def npy_bytes(n: int, shape: tuple[int, ...]) -> int:
    """Size of a float32 .npy of ``n`` samples of ``shape`` (header included)."""
    return 128 + 4 * n * math.prod(shape)


def check_room(out: Path, nbytes: int) -> None:
    """Refuse up front when ``out``'s folder cannot take ``nbytes`` more (plus some slack)."""
    folder = out.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if nbytes + SLACK > free:
        raise GanforgeError(
            f"{out} would take {_size(nbytes)} but only {_size(free)} is free on {folder}: "
            "lower --n or choose another --out"
        )


def write_npy(out: Path, shape: tuple[int, ...], chunks: Iterable[torch.Tensor]) -> int:
    """Write float32 ``chunks`` (k, *shape[1:]) as one .npy of ``shape``: the header, then each
    chunk as it comes; atomically (temporary file renamed over ``out``). Returns the rows."""
    tmp = out.with_name(f".{out.name}.tmp")
    header = {"descr": "<f4", "fortran_order": False, "shape": tuple(shape)}
    rows = 0
    try:
        with open(tmp, "wb") as fh:
            np.lib.format.write_array_header_1_0(fh, header)
            for chunk in chunks:
                arr = np.ascontiguousarray(chunk.numpy(), dtype="<f4")
                if arr.shape[1:] != tuple(shape[1:]) or rows + len(arr) > shape[0]:
                    raise RuntimeError(f"chunk of shape {arr.shape} does not fit {shape}")
                fh.write(memoryview(arr).cast("B"))
                rows += len(arr)
        if rows != shape[0]:
            raise RuntimeError(f"got {rows} samples, expected {shape[0]}")
        os.replace(tmp, out)
    except OSError as exc:
        raise GanforgeError(f"cannot write --out {out}: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return rows


def write_samples(
    run,
    out: Path,
    n: int,
    seed: int = 0,
    classes: list[int] | None = None,
    codes: dict[int, float] | None = None,
    rejection: bool | None = None,
    batch_size: int = 500,
    truncation: float | None = None,
) -> Path:
    """``n`` samples of the loaded ``run`` (training.loaded_run.LoadedRun) to ``out`` (.npy or
    .png grid); ``truncation`` passes G's inputs through the game's truncation trick."""
    from ganforge.views.grids import save_grid

    out = Path(out)
    png = out.suffix.lower() == ".png"
    if png and n > MAX_GRID:
        raise GanforgeError(
            f"a .png grid of {n} samples is too large (at most {MAX_GRID}): use a .npy --out"
        )
    shape = (n, *run.game.describe()["data_shape"])
    check_room(out, npy_bytes(n, shape[1:]) // (4 if png else 1))
    ensure_writable(out.parent, f"--out {out}")
    drs = run.uses_rejection if rejection is None else rejection
    if png or drs:
        images = run.sample(
            n, seed, classes=classes, codes=codes, rejection=rejection, truncation=truncation
        )
        if png:
            try:
                save_grid(images, out)
            except OSError as exc:
                raise GanforgeError(f"cannot write --out {out}: {exc.strerror or exc}") from None
            return out
        chunks: Iterable[torch.Tensor] = images.split(batch_size)
    else:
        chunks = run.iter_samples(n, seed, classes, codes, batch_size, truncation)
    write_npy(out, shape, chunks)
    return out
