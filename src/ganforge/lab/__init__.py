"""The theory lab: the course notes' small experiments, runnable, plotted and measured.

Each experiment is ``run(out_dir, steps=None, seed=0) -> dict`` that writes PNGs and
``result.json`` into ``out_dir`` and returns the numbers.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from ganforge.errors import ConfigError

EXPERIMENTS = {
    "optimal-d": ("ganforge.lab.optimal_d", "learned D vs D*(x) = p_data / (p_data + p_g)"),
    "js-vs-w": ("ganforge.lab.js_vs_w", "parallel lines: JS stays log 2, W = |theta|"),
    "vanishing-gradients": (
        "ganforge.lab.vanishing",
        "G's gradient norm as D trains: minimax vs non-saturating vs Wasserstein",
    ),
    "mode-collapse": (
        "ganforge.lab.mode_collapse",
        "ring8 snapshots: dcgan (BatchNorm in G and D; collapses) vs gan (BatchNorm in G only)",
    ),
}


def run_experiment(
    name: str, out: str | Path, steps: int | None = None, seed: int = 0
) -> dict[str, Any]:
    """Run lab experiment ``name`` into ``out``; returns (and saves) its numbers."""
    if name not in EXPERIMENTS:
        raise ConfigError(f"unknown experiment {name!r}: choose from {', '.join(EXPERIMENTS)}")
    if steps is not None and steps < 1:
        raise ConfigError(f"bad --steps {steps}: must be at least 1")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    module = importlib.import_module(EXPERIMENTS[name][0])
    result = {"experiment": name, **module.run(out, steps=steps, seed=seed)}
    (out / "result.json").write_text(json.dumps(result, indent=2))
    return result


def plt():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot
