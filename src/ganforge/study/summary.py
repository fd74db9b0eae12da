"""The study's numbers: per recipe the median and interquartile range (IQR = Q3 - Q1) of each
metric over its finished cells, the best run, and Lucic et al.'s best-of-N curve.

Best-of-N (Lucic et al. 2018, Fig. 4 "budget vs best FID"): with N sampled settings scored
f_(1) <= ... <= f_(N) (each the median over seeds), the expected best score of n settings drawn
at random without replacement is ``E[min] = sum_i f_(i) C(N - i, n - 1) / C(N, n)``, exact
rather than bootstrapped. Lower is better for fid and kid, higher for the others (the curve is
then of the expected maximum).
"""

from __future__ import annotations

from collections import defaultdict
from math import comb
from pathlib import Path
from typing import Any

import numpy as np

from ganforge.run_dir import write_atomic

LOWER_IS_BETTER = ("fid", "kid")
ORDER = ("fid", "kid", "precision", "recall", "cas")


def rank_metric(records: list[dict[str, Any]]) -> str | None:
    """The metric that picks the best run: fid when scored, else the first one present."""
    present = {k for r in records for k in r.get("metrics") or {}}
    return next((m for m in ORDER if m in present), None)


def best_of_n(scores: list[float], lower: bool = True) -> list[float]:
    """Expected best of n settings drawn without replacement from ``scores``, n = 1..N."""
    values = sorted(scores, reverse=not lower)
    total = len(values)
    return [
        float(sum(v * comb(total - i, n - 1) for i, v in enumerate(values, 1)) / comb(total, n))
        for n in range(1, total + 1)
    ]


def _stats(values: list[float]) -> dict[str, float]:
    q1, med, q3 = np.percentile(np.asarray(values, dtype=float), [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3), "iqr": float(q3 - q1)}


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per recipe: finished/failed counts, metric stats, the best run, best-of-N and the
    ranking metric's values (for the box plot)."""
    key = rank_metric(records)
    lower = key in LOWER_IS_BETTER
    recipes: dict[str, dict[str, Any]] = {}
    by_recipe: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_recipe[r["recipe"]].append(r)
    for recipe, rows in by_recipe.items():
        done = [r for r in rows if r["status"] == "finished"]
        entry: dict[str, Any] = {"finished": len(done), "failed": len(rows) - len(done)}
        entry["errors"] = sorted({r["error"] for r in rows if r["status"] == "failed"})
        names = [m for m in ORDER if any(m in r["metrics"] for r in done)]
        entry["metrics"] = {m: _stats([r["metrics"][m] for r in done]) for m in names}
        entry["flops"] = _stats([r["flops"] for r in done]) if done else None
        entry["steps"] = _stats([r["steps"] for r in done]) if done else None
        if key and done and key in entry["metrics"]:
            pick = min if lower else max
            best = pick(done, key=lambda r: r["metrics"][key])
            entry["best"] = {"cell": best["cell"], "run": best["run"], key: best["metrics"][key]}
            entry["values"] = [r["metrics"][key] for r in done]
            per_setting: dict[Any, list[float]] = defaultdict(list)
            for r in done:
                per_setting[r["setting"]].append(r["metrics"][key])
            medians = [float(np.median(v)) for v in per_setting.values()]
            entry["best_of_n"] = best_of_n(medians, lower)
        recipes[recipe] = entry
    return {"metric": key, "lower_is_better": lower, "recipes": recipes}


def _cell(stats: dict[str, float] | None) -> str:
    if not stats:
        return "–"
    return f"{stats['median']:.4g} [{stats['q1']:.4g}, {stats['q3']:.4g}]"


def format_table(summary: dict[str, Any]) -> str:
    """A markdown table: one row per recipe, median [Q1, Q3] of each metric, the best run."""
    recipes = summary["recipes"]
    if not recipes:
        return "no cell of this study has finished yet"
    names = [m for m in ORDER if any(m in e["metrics"] for e in recipes.values())]
    key = summary["metric"]
    head = ["recipe", "cells", *[f"{m} median [Q1, Q3]" for m in names]]
    head += ["GFLOP/run", f"best run ({key})" if key else "best run"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for recipe, e in recipes.items():
        cells = f"{e['finished']}" + (f" (+{e['failed']} failed)" if e["failed"] else "")
        flops = f"{e['flops']['median'] / 1e9:.4g}" if e["flops"] else "–"
        best = f"{e['best']['cell']} ({e['best'][key]:.4g})" if "best" in e else "–"
        row = [recipe, cells, *[_cell(e["metrics"].get(m)) for m in names], flops, best]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def format_markdown(summary: dict[str, Any], title: str) -> str:
    """study.md: the table, the best-of-N data and the failures."""
    parts = [f"# Study {title}", "", format_table(summary), ""]
    curves = {
        r: e["best_of_n"] for r, e in summary["recipes"].items() if len(e.get("best_of_n", [])) > 1
    }
    if curves:
        parts += [f"## Best of N settings (expected best {summary['metric']})", ""]
        for recipe, curve in curves.items():
            parts.append(f"- {recipe}: " + ", ".join(f"{v:.4g}" for v in curve))
        parts.append("")
    failures = {r: e["errors"] for r, e in summary["recipes"].items() if e["errors"]}
    if failures:
        parts += ["## Failed cells", ""]
        parts += [f"- {r}: {err}" for r, errs in failures.items() for err in errs]
        parts.append("")
    return "\n".join(parts)


def write_markdown(study: Path, summary: dict[str, Any]) -> Path:
    path = study / "study.md"
    write_atomic(path, format_markdown(summary, study.name).encode(), " (disk full?)")
    return path
