"""The API of sampling controls: the truncation value's check and the truncation sweep.

``ganforge sample RUN --truncation T`` and :func:`ganforge.api.sample` pass G's inputs through
the recipe's truncation trick (``Game.truncate``: BigGAN's resampled z, StyleGAN's w toward its
average); ``ganforge eval RUN --truncation-sweep 0.5,1.0`` scores a run at each value
(:mod:`ganforge.metrics.truncation_sweep`) and draws the trade-off
(:mod:`ganforge.views.truncation`) into RUN/truncation.json and RUN/truncation.png.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ganforge.errors import GanforgeError
from ganforge.metrics.frechet import MIN_SAMPLES
from ganforge.metrics.truncation_sweep import format_table as truncation_table
from ganforge.metrics.truncation_sweep import parse_values
from ganforge.metrics.truncation_sweep import truncation_sweep as _sweep
from ganforge.run_dir import write_json
from ganforge.training.loaded_run import LoadedRun, load_run
from ganforge.views.truncation import write_truncation_png

__all__ = ["check_truncation", "truncation_sweep", "truncation_table"]


def check_truncation(value: float | None) -> float | None:
    """``value`` as a float, or None; a value that is not a finite number is refused (the game
    checks its own range, e.g. psi or a positive threshold)."""
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise GanforgeError(f"bad --truncation {value!r}: expected a number, e.g. 0.7") from None
    if not math.isfinite(out):
        raise GanforgeError(f"bad --truncation {value!r}: must be a finite number")
    return out


def truncation_sweep(
    run: str | Path | LoadedRun,
    values: str | Sequence[float],
    n: int = 10_000,
    *,
    dataset: str | None = None,
    features: str | None = None,
    seed: int = 0,
    which: str = "latest",
    raw: bool = False,
    allow_small: bool = False,
    device: str = "auto",
) -> dict[str, Any]:
    """Score ``run`` at each truncation value of ``values`` (``"0.5,1.0"`` or a list, kept in
    the order given): FD, IS analogue, precision and recall of ``n`` samples per value. Writes
    RUN/truncation.json (the rows and their reference) and RUN/truncation.png (the trade-off
    plot), replacing an earlier sweep's; returns the JSON's content plus the two paths."""
    wanted = parse_values(values)
    if n < 2:
        raise GanforgeError(f"bad --n {n}: must be at least 2")
    if n < MIN_SAMPLES and not allow_small:
        raise GanforgeError(
            f"FD on {n} < {MIN_SAMPLES} samples is too biased to compare: raise --n "
            "or pass --allow-small"
        )
    loaded = run if isinstance(run, LoadedRun) else load_run(run, device, which)
    rows, info = _sweep(loaded, wanted, dataset, n, features, seed, raw)
    result = {
        "rows": rows,
        "n": n,
        "seed": seed,
        "reference": info.get("reference"),
        "extractor": info.get("extractor"),
        "target": info.get("target"),
    }
    json_path, png_path = loaded.path / "truncation.json", loaded.path / "truncation.png"
    write_json(json_path, result)
    title = f"{loaded.path.name} (step {loaded.step}), {n} samples per value"
    write_truncation_png(rows, png_path, title)
    return {**result, "json": str(json_path), "png": str(png_path)}
