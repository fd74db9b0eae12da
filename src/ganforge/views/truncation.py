"""The truncation trade-off picture (RUN/truncation.png), drawn with matplotlib (Agg).

Two panels, each point labelled with its truncation value, as Brock et al. 2019
(arXiv:1809.11096, Fig. 4): the Fréchet distance against the IS analogue (quality against
class confidence; the distance alone against the value when the extractor has no class
logits), and precision against recall (Kynkäänniemi et al. 2019, arXiv:1904.06991): fidelity
against variety. Rows come from :func:`ganforge.metrics.truncation_sweep.truncation_sweep`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ganforge.run_dir import write_atomic


def _curve(ax, xs: list[float], ys: list[float], labels: list[float]) -> None:
    ax.plot(xs, ys, marker="o", markersize=4, linewidth=1.2)
    for x, y, v in zip(xs, ys, labels, strict=True):
        ax.annotate(f"{v:g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.grid(True, alpha=0.3)


def truncation_png(rows: Sequence[dict[str, Any]], title: str = "") -> bytes:
    """The two-panel trade-off plot of ``rows`` (one per truncation value) as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.6, 3.8), dpi=100)
    FigureCanvasAgg(fig)
    values = [float(r["truncation"]) for r in rows]
    fd = [float(r["fid"]) for r in rows]
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    if all(isinstance(r.get("is"), float) for r in rows):
        _curve(left, [float(r["is"]) for r in rows], fd, values)
        left.set_xlabel("IS analogue (our classifier)")
    else:
        _curve(left, values, fd, values)
        left.set_xlabel("truncation value")
    left.set_ylabel("Fréchet distance (lower is better)")
    left.set_title("quality: FD vs IS")
    _curve(right, [float(r["recall"]) for r in rows], [float(r["precision"]) for r in rows], values)
    right.set_xlabel("recall (variety)")
    right.set_ylabel("precision (fidelity)")
    right.set_title("precision vs recall")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.84, wspace=0.28)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def write_truncation_png(rows: Sequence[dict[str, Any]], out: str | Path, title: str = "") -> Path:
    """:func:`truncation_png` written atomically to ``out``."""
    out = Path(out)
    write_atomic(out, truncation_png(rows, title), "")
    return out
