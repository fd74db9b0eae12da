"""Curves of a run's metrics.jsonl drawn with matplotlib (Agg; no display, no pyplot state)."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ganforge.errors import CheckpointError

# Keys of a metrics line that are bookkeeping, not curves.
BOOKKEEPING = ("step", "epoch", "elapsed", "images_per_sec")


def _number(value: Any) -> float | None:
    """A metrics value as a float: non-finite values are logged as the strings 'nan'/'inf'."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def read_metrics(run: str | Path) -> list[dict[str, Any]]:
    """The lines of ``RUN/metrics.jsonl`` as dicts (empty when the run logged nothing yet).

    A half-written last line (a run killed mid-write) is skipped; any other bad line is an error.
    """
    path = Path(run) / "metrics.jsonl"
    if not path.is_file():
        return []
    lines = path.read_text().splitlines()
    rows = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            if i == len(lines) - 1:
                break
            raise CheckpointError(f"{path} line {i + 1} is not JSON; the file is damaged") from None
    return rows


def series(rows: Sequence[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """(steps, values) of ``key`` over the lines that have it; non-finite values kept as NaN."""
    xs, ys = [], []
    for row in rows:
        if key in row and "step" in row:
            y = _number(row[key])
            if y is not None:
                xs.append(float(row["step"]))
                ys.append(y)
    return xs, ys


def curve_keys(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(training-loss keys, evaluation keys) in first-seen order.

    Evaluation lines carry ``eval_*`` keys (written by the trainer's evaluation hook); every
    other numeric key that is not bookkeeping is a per-step training log (losses, D outputs,
    penalties).
    """
    train: list[str] = []
    evals: list[str] = []
    for row in rows:
        for key, value in row.items():
            if key in BOOKKEEPING or _number(value) is None:
                continue
            target = evals if key.startswith("eval_") else train
            if key not in target:
                target.append(key)
    return train, evals


def plot_png(
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    title: str,
    ylabel: str = "",
    width: float = 6.4,
    height: float = 3.4,
) -> bytes | None:
    """One line per key against the step, as PNG bytes; None when no key has a value."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    drawn = 0
    for key in keys:
        xs, ys = series(rows, key)
        if not xs:
            continue
        marker = "o" if len(xs) <= 30 else None
        ax.plot(xs, ys, label=key, marker=marker, markersize=3, linewidth=1.2)
        drawn += 1
    if not drawn:
        return None
    ax.set_title(title)
    ax.set_xlabel("step")
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.15, top=0.9)  # tight_layout costs ~0.5 s
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
