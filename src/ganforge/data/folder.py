"""A folder of PNG/JPEG images as one uint8 tensor: resized, centre-cropped, gray or RGB."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ganforge.errors import DataError

# Pillow opens 16-bit grayscale PNGs in these modes (older versions: "I", a 32-bit int);
# converting them straight to "L" clips every value above 255 to white, so they are scaled first.
SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}
MAX_NAMED_SKIPS = 10  # skipped files named on stderr; the rest are only counted
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}


def list_images(root: str | Path) -> list[Path]:
    """Image files under ``root`` (recursively, following no symlinked directories), sorted."""
    root = Path(root).expanduser()
    if not root.exists():
        raise DataError(f"image folder {root} does not exist")
    if not root.is_dir():
        raise DataError(f"{root} is not a folder of images")
    if not os.access(root, os.R_OK | os.X_OK):
        raise DataError(f"image folder {root} is not readable (check its permissions)")
    paths: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=None):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.suffix.lower() in IMAGE_SUFFIXES:
                paths.append(path)
    return paths


def to_8bit(img: Image.Image) -> Image.Image:
    """``img`` with 16-bit gray values mapped onto 0..255 (round(v / 257)); others unchanged.

    Pillow already reduces 48-bit RGB and 64-bit RGBA PNGs to 8 bits per channel on open; 16-bit
    gray stays 16-bit, and ``convert("L")`` would clip it (a 16-bit photo becomes white).
    """
    if img.mode not in SIXTEEN_BIT_MODES:
        return img
    arr = np.asarray(img).astype(np.float64)
    return Image.fromarray(np.rint(np.clip(arr, 0, 65535) / 257.0).astype(np.uint8), "L")


def load_image(path: Path, size: int, channels: int) -> np.ndarray:
    """One image as (C, size, size) uint8: shorter side resized to ``size``, centre-cropped."""
    try:
        with Image.open(path) as img:
            img.load()
            img = to_8bit(img).convert("L" if channels == 1 else "RGB")
    except UnidentifiedImageError:
        raise DataError(f"cannot read image {path}: not an image PIL can decode") from None
    except Image.DecompressionBombError as exc:
        raise DataError(f"cannot read image {path}: {exc}") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise DataError(f"cannot read image {path}: {reason}") from None
    w, h = img.size
    if w == 0 or h == 0:
        raise DataError(f"image {path} is empty")
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    img = img.resize((nw, nh), Image.Resampling.BICUBIC, reducing_gap=None)
    left, top = (nw - size) // 2, (nh - size) // 2
    img = img.crop((left, top, left + size, top + size))
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def load_folder(
    root: str | Path, size: int = 64, channels: int = 3, skip_bad: bool = False
) -> tuple[np.ndarray, int]:
    """All images under ``root`` as (N, C, size, size) uint8, and the number of files skipped.

    A file that cannot be decoded stops the load with its name, unless ``skip_bad`` is set.
    """
    paths = list_images(root)
    images, kept = load_paths(root, paths, size, channels, skip_bad)
    return images, len(paths) - len(kept)


def load_paths(
    root: str | Path, paths: list[Path], size: int, channels: int, skip_bad: bool = False
) -> tuple[np.ndarray, list[int]]:
    """The images ``paths`` (found under ``root``) as (N, C, size, size) uint8, and the indices
    into ``paths`` of those kept (all, unless ``skip_bad`` left unreadable files out)."""
    if not paths:
        raise DataError(
            f"no images found in {root} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    images, kept, skipped = [], [], 0
    for i, path in enumerate(paths):
        try:
            try:
                st = path.stat()
            except OSError as exc:  # dangling symlink, symlink loop, vanished file
                raise DataError(f"cannot open image {path}: {exc.strerror or exc}") from None
            if st.st_size == 0:
                raise DataError(f"image {path} is an empty (zero-byte) file")
            images.append(load_image(path, size, channels))
            kept.append(i)
        except DataError as exc:
            if not skip_bad:
                raise DataError(f"{exc}; fix or remove it, or pass --set skip_bad=true") from None
            skipped += 1
            if skipped <= MAX_NAMED_SKIPS:
                print(f"ganforge: warning: skipping {exc}", file=sys.stderr)
    if not images:
        raise DataError(f"none of the {len(paths)} files in {root} could be read as an image")
    return np.stack(images), kept
