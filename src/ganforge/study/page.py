"""``STUDY/study.html``: one self-contained page (no file or network requests: images are
base64 data URIs, plots inline SVG) with the table, a box plot of the ranking metric (FD) per
recipe over its cells, the best-of-N curve, and the final samples of each recipe's best run
side by side."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import numpy as np

from ganforge.run_dir import write_atomic
from ganforge.study.summary import format_table

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939")  # fmt: skip
W, H, PAD = 640, 300, 48
CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px}"
    ".samples{display:flex;flex-wrap:wrap;gap:16px}.samples figure{margin:0}"
    ".samples img{width:220px;image-rendering:pixelated}svg text{font-size:11px}"
)


def _scale(lo: float, hi: float, top: float, bottom: float):
    span = (hi - lo) or 1.0
    return lambda v: bottom - (v - lo) / span * (bottom - top)


def _axis(lo: float, hi: float, y, label: str) -> str:
    ticks = [lo + (hi - lo) * k / 4 for k in range(5)]
    parts = [f'<line x1="{PAD}" y1="{PAD / 2}" x2="{PAD}" y2="{H - PAD}" stroke="#444"/>']
    for t in ticks:
        parts.append(
            f'<text x="{PAD - 4}" y="{y(t) + 4:.1f}" text-anchor="end">{t:.3g}</text>'
            f'<line x1="{PAD}" y1="{y(t):.1f}" x2="{W - 8}" y2="{y(t):.1f}" stroke="#eee"/>'
        )
    parts.append(f'<text x="12" y="{H / 2}" transform="rotate(-90 12 {H / 2})">{label}</text>')
    return "".join(parts)


def box_plot(values: dict[str, list[float]], label: str) -> str:
    """Inline SVG: per recipe a box from Q1 to Q3, the median, whiskers to min and max, and
    every cell as a dot."""
    every = [v for vs in values.values() for v in vs]
    if not every:
        return "<p>no finished cells yet</p>"
    lo, hi = min(every), max(every)
    y = _scale(lo, hi, PAD / 2, H - PAD)
    step = (W - PAD - 8) / max(1, len(values))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}">',
        _axis(lo, hi, y, label),
    ]
    for i, (recipe, vs) in enumerate(values.items()):
        x, c = PAD + step * (i + 0.5), COLORS[i % len(COLORS)]
        q1, med, q3 = np.percentile(vs, [25, 50, 75])
        half = min(24.0, step / 3)
        parts.append(
            f'<line x1="{x:.1f}" y1="{y(min(vs)):.1f}" x2="{x:.1f}" y2="{y(max(vs)):.1f}" stroke="{c}"/>'
            f'<rect x="{x - half:.1f}" y="{y(q3):.1f}" width="{2 * half:.1f}" '
            f'height="{max(1.0, y(q1) - y(q3)):.1f}" fill="{c}" fill-opacity="0.25" stroke="{c}"/>'
            f'<line x1="{x - half:.1f}" y1="{y(med):.1f}" x2="{x + half:.1f}" y2="{y(med):.1f}" '
            f'stroke="{c}" stroke-width="3"/>'
            f'<text x="{x:.1f}" y="{H - PAD + 16}" text-anchor="middle">{html.escape(recipe)}</text>'
        )
        for j, v in enumerate(vs):
            dx = (j - (len(vs) - 1) / 2) * min(4.0, half / max(1, len(vs)))
            parts.append(f'<circle cx="{x + dx:.1f}" cy="{y(v):.1f}" r="2.5" fill="{c}"/>')
    return "".join(parts) + "</svg>"


def curve_plot(curves: dict[str, list[float]], label: str) -> str:
    """Inline SVG: expected best score against the number of settings tried, per recipe."""
    curves = {r: c for r, c in curves.items() if len(c) > 1}
    if not curves:
        return "<p>one setting per recipe: run with --sample-hparams N for this curve</p>"
    every = [v for c in curves.values() for v in c]
    lo, hi, most = min(every), max(every), max(len(c) for c in curves.values())
    y = _scale(lo, hi, PAD / 2, H - PAD)
    x = lambda n: PAD + (n - 1) / max(1, most - 1) * (W - PAD - 120)  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}">',
        _axis(lo, hi, y, label),
    ]
    parts.append(f'<text x="{W / 2}" y="{H - 8}">settings tried</text>')
    for i, (recipe, c) in enumerate(curves.items()):
        col = COLORS[i % len(COLORS)]
        pts = " ".join(f"{x(n):.1f},{y(v):.1f}" for n, v in enumerate(c, 1))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{col}" stroke-width="2"/>')
        parts.append(
            f'<text x="{x(len(c)) + 4:.1f}" y="{y(c[-1]) + 4:.1f}" fill="{col}">'
            f"{html.escape(recipe)}</text>"
        )
    return "".join(parts) + "</svg>"


def _markdown_table(text: str) -> str:
    rows = [ln.strip("|").split("|") for ln in text.splitlines() if not ln.startswith("|---")]
    if not rows or len(rows) < 2:
        return f"<p>{html.escape(text)}</p>"
    head = "".join(f"<th>{html.escape(c.strip())}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c.strip())}</td>" for c in r) + "</tr>"
        for r in rows[1:]
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render_page(study: Path, summary: dict[str, Any]) -> str:
    key = summary["metric"] or "metric"
    recipes = summary["recipes"]
    figures = []
    for recipe, e in recipes.items():
        png = study / e["best"]["run"] / "samples.png" if "best" in e else None
        if png is not None and png.is_file():
            uri = "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")
            caption = f"{recipe}: {e['best']['cell']} ({key} {e['best'][key]:.4g})"
            figures.append(
                f'<figure><img src="{uri}" alt="{html.escape(recipe)}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
    values = {r: e["values"] for r, e in recipes.items() if e.get("values")}
    curves = {r: e.get("best_of_n", []) for r, e in recipes.items()}
    return "".join(
        [
            f"<!doctype html><html><head><meta charset='utf-8'><title>study {html.escape(study.name)}"
            f"</title><style>{CSS}</style></head><body>",
            f"<h1>Study {html.escape(study.name)}</h1>",
            _markdown_table(format_table(summary)),
            f"<h2>{html.escape(key)} per recipe (every cell a dot)</h2>",
            box_plot(values, key),
            f"<h2>Best of N settings (expected best {html.escape(key)})</h2>",
            curve_plot(curves, key),
            "<h2>Samples of each recipe's best run</h2>",
            f"<div class='samples'>{''.join(figures) or '<p>none yet</p>'}</div>",
            "</body></html>",
        ]
    )


def write_page(study: Path, summary: dict[str, Any]) -> Path:
    path = study / "study.html"
    write_atomic(path, render_page(study, summary).encode(), " (disk full?)")
    return path
