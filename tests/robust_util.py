"""Helpers shared by the robustness tests: a tiny image folder and subprocess runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def tiny_folder(path: Path, n: int = 64, size: int = 8, seed: int = 0) -> Path:
    """``n`` random grayscale PNGs of ``size`` x ``size`` pixels."""
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        arr = rng.integers(0, 256, (size, size), dtype=np.uint8)
        Image.fromarray(arr, "L").save(path / f"img{i:03d}.png")
    return path


def tiny_args(folder: Path, out: Path, steps: int, *extra: str) -> list[str]:
    """CLI arguments of a tiny MLP GAN run on ``folder``."""
    return [
        "train",
        "gan",
        "--dataset",
        f"folder:{folder}",
        "--image-size",
        "8",
        "--channels",
        "1",
        "--steps",
        str(steps),
        "--out",
        str(out),
        "--batch-size",
        "16",
        "--set",
        "g_width=8",
        "--set",
        "d_width=8",
        "--set",
        "sample_every=100000",
        *extra,
    ]


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + e.get("PYTHONPATH", "")
    e["GANFORGE_OFFLINE"] = "1"
    e["OMP_NUM_THREADS"] = "1"
    e.pop("GANFORGE_DEBUG", None)
    return e


def popen(args: list[str]) -> subprocess.Popen:
    """``python -m ganforge ARGS`` in a subprocess (stdout/stderr captured)."""
    return subprocess.Popen(
        [sys.executable, "-m", "ganforge", *args],
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ganforge", *args],
        env=env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
