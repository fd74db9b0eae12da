"""The notes' mode-collapse figure (after Metz et al. 2017, fig. 1): ring8 snapshots of a plain
GAN next to a mode-covering recipe (PacGAN, Lin et al. 2018), with modes counted at each one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganforge.lab import plt
from ganforge.metrics.toy import mode_metrics
from ganforge.toy import BEST_RECIPE, toy_config, train_toy
from ganforge.views.toy import plot_snapshots


def run(out: Path, steps: int | None = None, seed: int = 0) -> dict[str, Any]:
    steps = steps or 2000
    recipes = ["gan", BEST_RECIPE["ring8"]]
    runs = [train_toy(toy_config(r, "ring8", steps=steps, seed=seed), snapshots=5) for r in recipes]
    p = plt()
    n = len(runs[0].snapshots)
    fig, axes = p.subplots(2, n, figsize=(2.1 * n, 4.6))
    result: dict[str, Any] = {"steps": steps, "recipes": recipes}
    for row, (name, run_) in enumerate(zip(recipes, runs, strict=True)):
        plot_snapshots(run_, None, axes=axes[row], label=name)
        mix = run_.mixture
        result[name] = {
            "snapshot_steps": [s for s, _ in run_.snapshots],
            "snapshot_modes": [
                mode_metrics(x, mix.means, mix.sigma)["modes"] for _, x in run_.snapshots
            ],
            "final": run_.metrics,
        }
    fig.tight_layout()
    fig.savefig(out / "mode_collapse.png", dpi=80)
    p.close(fig)
    result["files"] = [str(out / "mode_collapse.png")]
    return result
