"""RUN/report.html: one self-contained page about a run.

Everything the page shows is embedded as ``data:`` URIs (grids, the timelapse GIF, matplotlib
curves), and it has no script, font or style sheet from elsewhere, so it opens offline, can be
mailed as one file and makes no network request. Sections: summary and timings, the final grid
and the timelapse, the fixed-latent grids over training, loss / evaluation / throughput curves,
the metrics table and the full config.
"""

from __future__ import annotations

import base64
import html
import json
import math
import time
from pathlib import Path
from typing import Any

from ganforge.run_dir import check_run, read_json
from ganforge.version import __version__
from ganforge.views.attention import ATTENTION_PNG
from ganforge.views.plots import curve_keys, plot_png, read_metrics
from ganforge.views.runs import format_wall, resolve_status
from ganforge.views.timelapse import saved_grids, write_timelapse

MAX_TABLE_ROWS = 200
MAX_GRIDS = 24

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1180px;
       color: #1d1d1f; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px;
     border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f4f4f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.status { font-weight: 600; padding: 1px 8px; border-radius: 8px; }
.finished { background: #d9f2dc; } .running { background: #dbe8fb; }
.interrupted { background: #fbefd2; } .diverged { background: #f8d4d4; }
.row { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
figure { margin: 0; } figcaption { color: #555; font-size: 12px; text-align: center; }
img.px { image-rendering: pixelated; }
.grids img { width: 180px; }
.scroll { max-height: 420px; overflow: auto; display: inline-block; }
"""


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _file_uri(path: Path, mime: str) -> str:
    return _data_uri(path.read_bytes(), mime)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _table(pairs: list[tuple[str, Any]], columns: int = 1) -> str:
    """Key/value rows; with ``columns`` > 1 the pairs run down that many column pairs."""
    cells = [
        f"<th>{_esc(k)}</th><td>{v if isinstance(v, _Html) else _esc(_fmt(v))}</td>"
        for k, v in pairs
    ]
    per_col = -(-len(cells) // columns) if cells else 0
    rows = []
    for r in range(per_col):
        row = [cells[c * per_col + r] for c in range(columns) if c * per_col + r < len(cells)]
        rows.append("<tr>" + "".join(row) + "</tr>")
    return f"<table>{''.join(rows)}</table>"


class _Html(str):
    """Text already escaped (so _table does not escape it twice)."""


def _img(uri: str, alt: str, cls: str = "", width: int | None = None) -> str:
    w = f' width="{width}"' if width else ""
    c = f' class="{cls}"' if cls else ""
    return f'<img src="{uri}" alt="{_esc(alt)}"{c}{w}>'


def _pick(items: list, k: int) -> list:
    """At most ``k`` items spread evenly, always keeping the first and the last."""
    if len(items) <= k:
        return list(items)
    idx = sorted({round(i * (len(items) - 1) / (k - 1)) for i in range(k)})
    return [items[i] for i in idx]


def _summary(run: Path, info: dict[str, Any], rows: list[dict[str, Any]]) -> list[tuple]:
    status = resolve_status(info) if info else "unknown"
    badge = _Html(f'<span class="status {_esc(status)}">{_esc(status)}</span>')
    train_rows = [r for r in rows if "images_per_sec" in r]
    ips = [float(r["images_per_sec"]) for r in train_rows if r.get("images_per_sec")]
    last = train_rows[-1] if train_rows else {}
    best = info.get("best") if isinstance(info.get("best"), dict) else None
    wall = info.get("wall_seconds")
    steps = info.get("steps")
    pairs: list[tuple[str, Any]] = [
        ("status", badge),
        ("recipe", info.get("recipe")),
        ("dataset", info.get("dataset")),
        ("classes", _classes(info.get("class_names"))),
        ("steps", steps),
        ("epochs", last.get("epoch")),
        ("wall-clock time", f"{format_wall(wall)} ({wall:.1f} s)" if wall is not None else None),
        ("images/s (whole run)", info.get("images_per_sec")),
        (
            "images/s per log interval (min / median / max)",
            f"{min(ips):.0f} / {sorted(ips)[len(ips) // 2]:.0f} / {max(ips):.0f}" if ips else None,
        ),
        (
            "seconds per step",
            f"{wall / steps:.4f}" if wall and isinstance(steps, int) and steps > 0 else None,
        ),
        ("final d_loss", last.get("d_loss", info.get("d_loss"))),
        ("final g_loss", last.get("g_loss", info.get("g_loss"))),
        ("best FD", f"{best['fid']:.3f} at step {best['step']}" if best else None),
        ("device", info.get("device")),
        ("processes", info.get("world_size")),
        ("last checkpoint", info.get("last_checkpoint")),
        ("started", _when(info.get("started"))),
        ("last update", _when(info.get("updated"))),
    ]
    return [(k, v) for k, v in pairs if v is not None]


def _classes(names: Any) -> str | None:
    """run.json's class names as "K: a, b, c" (the first 30), or None for unlabelled data."""
    if not isinstance(names, list) or not names:
        return None
    more = f", ... ({len(names) - 30} more)" if len(names) > 30 else ""
    return f"{len(names)}: {', '.join(map(str, names[:30]))}{more}"


def _when(stamp: Any) -> str | None:
    if not isinstance(stamp, int | float):
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def _metrics_table(rows: list[dict[str, Any]]) -> str:
    shown = _pick(rows, MAX_TABLE_ROWS)
    keys: list[str] = []
    for row in shown:
        keys += [k for k in row if k not in keys]
    head = "".join(f"<th>{_esc(k)}</th>" for k in keys)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{_esc(_fmt(r.get(k)))}</td>' for k in keys) + "</tr>"
        for r in shown
    )
    note = (
        f"<p class='sub'>{len(shown)} of {len(rows)} lines, evenly spread.</p>"
        if len(shown) < len(rows)
        else ""
    )
    return f'{note}<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def render_report(run: str | Path, timelapse: Path | None = None) -> str:
    """The report page of ``run`` as an HTML string (all images embedded)."""
    run = check_run(Path(run))
    config = read_json(run / "config.json")
    info = read_json(run / "run.json") if (run / "run.json").is_file() else {}
    rows = read_metrics(run)
    title = f"ganforge run {run.name}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # No request may leave the page: a CSP that allows only embedded data.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">",
        f"<title>{_esc(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
    ]
    recipe = config.get("recipe")
    try:
        from ganforge.recipes import RECIPES

        r = RECIPES.get(recipe)
        if r is not None:
            parts.append(f'<p class="sub">{_esc(r.summary)} — {_esc(r.source)}</p>')
    except ImportError:  # pragma: no cover - recipes always exist in the package
        pass

    parts.append("<h2>Summary and timings</h2>")
    parts.append(_table(_summary(run, info, rows)))

    final = run / "samples.png"
    grids = saved_grids(run)
    parts.append("<h2>Samples</h2><div class='row'>")
    if final.is_file():
        parts.append(
            "<figure>"
            + _img(_file_uri(final, "image/png"), "final samples", "px", 420)
            + f"<figcaption>final samples (step {_esc(info.get('steps', '?'))}, "
            "fixed latent batch)</figcaption></figure>"
        )
    if timelapse is not None and timelapse.is_file():
        parts.append(
            "<figure>"
            + _img(_file_uri(timelapse, "image/gif"), "timelapse", "px", 420)
            + f"<figcaption>timelapse.gif ({len(grids)} frames)</figcaption></figure>"
        )
    if not final.is_file() and timelapse is None:
        parts.append("<p>No samples yet.</p>")
    parts.append("</div>")

    if grids:
        shown = _pick(grids, MAX_GRIDS)
        parts.append("<h2>Grids over training (same latent batch)</h2>")
        if len(shown) < len(grids):
            parts.append(f"<p class='sub'>{len(shown)} of {len(grids)} grids.</p>")
        parts.append("<div class='row grids'>")
        for step, path in shown:
            parts.append(
                "<figure>"
                + _img(_file_uri(path, "image/png"), f"step {step}", "px")
                + f"<figcaption>step {step}</figcaption></figure>"
            )
        parts.append("</div>")

    sweep = run / "truncation.png"  # written by `ganforge eval RUN --truncation-sweep`
    if sweep.is_file():
        parts.append("<h2>Truncation trade-off</h2>")
        parts.append(
            "<figure>" + _img(_file_uri(sweep, "image/png"), "truncation sweep", width=760)
            + "<figcaption>FD against IS and precision against recall per truncation value "
            "(truncation.json)</figcaption></figure>"
        )  # fmt: skip
    attention = run / ATTENTION_PNG
    if attention.is_file():
        parts.append("<h2>Where self-attention looks</h2>")
        parts.append(
            "<p class='sub'>One sample; per attention block of G and D, the weights of four "
            "query pixels (x) over the keys (bright = attended).</p><figure>"
            + _img(_file_uri(attention, "image/png"), "attention maps", width=640)
            + "</figure>"
        )

    train_keys, eval_keys = curve_keys(rows)
    plots = []
    losses = [k for k in train_keys if k.endswith("loss")]
    others = [k for k in train_keys if k not in losses]
    for keys, name, ylabel in (
        (losses, "losses", "loss"),
        (others, "other training logs", "value"),
        (eval_keys, "evaluation metrics", "value"),
        (["images_per_sec"], "throughput", "images / s"),
    ):
        png = plot_png(rows, keys, name, ylabel) if keys else None
        if png is not None:
            plots.append(
                f"<figure>{_img(_data_uri(png, 'image/png'), name, width=560)}"
                f"<figcaption>{_esc(name)}</figcaption></figure>"
            )
    parts.append("<h2>Curves</h2>")
    parts.append(
        "<div class='row'>" + "".join(plots) + "</div>" if plots else "<p>No metrics yet.</p>"
    )

    if rows:
        parts.append("<h2>Metrics (metrics.jsonl)</h2>")
        parts.append(_metrics_table(rows))

    parts.append("<h2>Config</h2>")
    parts.append(_table(sorted(config.items()), columns=4))
    parts.append(
        f"<p class='sub'>Written by ganforge {_esc(__version__)} on "
        f"{_esc(time.strftime('%Y-%m-%d %H:%M:%S'))} from {_esc(run)}.</p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(run: str | Path, out: str | Path | None = None, timelapse: bool = True) -> Path:
    """Write ``RUN/report.html`` (and ``RUN/timelapse.gif`` when the run has grids); returns
    the report's path."""
    run = check_run(Path(run))
    gif = None
    if timelapse and saved_grids(run):
        gif = write_timelapse(run)
    page = render_report(run, gif)
    out = Path(out) if out is not None else run / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out


__all__ = ["render_report", "write_report"]
