"""The layout of a ``folder:PATH`` dataset: one sub-folder per class, or loose images.

As torchvision's ``ImageFolder`` (and the BigGAN/SAGAN data pipelines built on it), a folder
whose top level holds only sub-folders is class-labelled: the classes are the sub-folders that
hold at least one image (at any depth below them), numbered 0..K-1 in sorted name order, and
an image's label is its top-level sub-folder's number. Every other layout is unlabelled, as
before (all images below PATH, recursively):

- loose images only: unlabelled;
- loose images beside sub-folders (mixed): unlabelled (a conditional recipe on it is refused
  with the layout it needs: move the loose images into class sub-folders);
- sub-folders without any image (empty classes): not classes; they are named on stderr;
- one image-holding sub-folder: labelled with K = 1, which conditioning refuses (it needs 2).

The images and their order are the same in every layout (sorted walk), so an unconditional
recipe trains on a class-folder dataset exactly as it did before labels existed.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ganforge.data.folder import IMAGE_SUFFIXES, list_images


@dataclass(frozen=True)
class FolderLayout:
    """What :func:`folder_layout` found: the images in load order, their labels (None when
    unlabelled), the class names, the loose top-level images and the empty sub-folders."""

    paths: list[Path]
    labels: list[int] | None
    class_names: tuple[str, ...]
    loose: int
    empty: tuple[str, ...]


def _is_image(entry: os.DirEntry) -> bool:
    return Path(entry.name).suffix.lower() in IMAGE_SUFFIXES and not entry.is_dir()


def folder_layout(root: str | Path) -> FolderLayout:
    """The layout of the image folder ``root`` (see the module docstring)."""
    paths = list_images(root)  # checks root and lists every image in the sorted walk order
    root = Path(root).expanduser()
    with os.scandir(root) as it:
        entries = sorted(it, key=lambda e: e.name)
    loose = sum(1 for e in entries if _is_image(e))
    subdirs = [e.name for e in entries if e.is_dir(follow_symlinks=False)]
    per_dir: dict[str, list[Path]] = {name: [] for name in subdirs}
    for path in paths:
        top = path.relative_to(root).parts[0]
        if top in per_dir and len(path.relative_to(root).parts) > 1:
            per_dir[top].append(path)
    names = tuple(name for name in subdirs if per_dir[name])
    empty = tuple(name for name in subdirs if not per_dir[name])
    if loose or not names:
        return FolderLayout(paths, None, (), loose, empty)
    labels = [k for k, name in enumerate(names) for _ in per_dir[name]]
    ordered = [p for name in names for p in per_dir[name]]
    if empty:
        shown = ", ".join(empty[:5]) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
        print(
            f"ganforge: warning: {root}: sub-folder(s) without images are not classes: {shown}",
            file=sys.stderr,
        )
    return FolderLayout(ordered, labels, names, 0, empty)
