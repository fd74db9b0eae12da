"""The truncation trade-off: sample quality against variety as the truncation value moves.

Brock et al. 2019 ("Large Scale GAN Training for High Fidelity Natural Image Synthesis",
arXiv:1809.11096, Fig. 4 and Sec. 3.1) sample z from a truncated normal (entries with
|z| > t resampled): a lower threshold t trades variety for fidelity, tracing a curve of FID
against IS; Karras et al. 2019 (arXiv:1812.04948) move w toward its average by psi with the
same effect, and Kynkäänniemi et al. 2019 (arXiv:1904.06991) show it as precision rising while
recall falls. For each value v this scores ``n`` samples of the run drawn through
``game.truncate(inputs, v, generator)`` with the same seed (so every value truncates the same
base inputs): the Fréchet distance to the real reference, the classifier score (our
extractor's IS analogue) and k-NN precision and recall (k = 3), as ``ganforge eval`` does.

Truncated samples are for pictures and this sweep only: a run's own metrics (``ganforge
eval`` without a sweep, evaluation during training) always score untruncated samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ganforge.errors import GanforgeError
from ganforge.metrics.evaluate import _resolve_extractor, evaluate_images

if TYPE_CHECKING:
    from ganforge.training.loaded_run import LoadedRun

SWEEP_METRICS = ("fid", "is", "pr")
COLUMNS = ("truncation", "fid", "is", "precision", "recall")


def parse_values(text: str | Sequence[float]) -> list[float]:
    """``"0.5,1.0,1.5"`` (or a sequence) as finite floats in the order given, without repeats;
    an empty or non-numeric list is refused."""
    items = text.split(",") if isinstance(text, str) else list(text)
    values: list[float] = []
    for item in items:
        if isinstance(item, str) and not item.strip():
            continue
        try:
            value = float(item)
        except (TypeError, ValueError):
            raise GanforgeError(
                f"bad --truncation-sweep value {item!r}: expected numbers like 0.5,1.0,1.5"
            ) from None
        if not math.isfinite(value):
            raise GanforgeError(f"bad --truncation-sweep value {item!r}: must be finite")
        if value not in values:
            values.append(value)
    if not values:
        raise GanforgeError("--truncation-sweep needs at least one value, e.g. 0.5,1.0,1.5")
    return values


def truncation_sweep(
    run: LoadedRun,
    values: Sequence[float],
    dataset: str | None = None,
    n: int = 10_000,
    features: Any = None,
    seed: int = 0,
    raw: bool = False,
    split: str = "test",
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(rows, info): one row per value in the order given, keyed by :data:`COLUMNS` (``is``
    is None for an extractor without class logits), and the reference's description."""
    dataset = dataset or run.cfg.dataset
    shape = tuple(run.game.describe()["data_shape"])
    extractor = _resolve_extractor(features, dataset, shape, f"run {run.path}")
    drs = run.uses_rejection and not raw
    rows: list[dict[str, Any]] = []
    info: dict[str, Any] = {}
    for value in values:
        images = run.sample(n, seed, rejection=drs, truncation=value)
        scores = evaluate_images(images, dataset, list(SWEEP_METRICS), extractor, None, seed, split)
        info = scores.pop("info")
        rows.append(
            {
                "truncation": float(value),
                "fid": scores["fid"],
                "is": scores.get("is"),
                "precision": scores["precision"],
                "recall": scores["recall"],
            }
        )
    info["target"] = f"{run.path} (step {run.step})"
    info.pop("fid_warning", None)
    return rows, info


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The sweep as an aligned text table, one line per value."""
    lines = ["  ".join(f"{c:>10s}" for c in COLUMNS)]
    for row in rows:
        cells = [
            f"{row[c]:>10.4g}" if isinstance(row.get(c), float) else f"{'-':>10s}" for c in COLUMNS
        ]
        lines.append("  ".join(cells))
    return "\n".join(lines)
