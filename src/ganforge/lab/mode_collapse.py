"""The notes' mode-collapse figure (after Metz et al. 2017, fig. 1): ring8 snapshots of a GAN
that fails to cover the modes next to the recipe that covers them best on our benchmark, with
the modes counted at each snapshot.

On the toy MLPs the ``dcgan`` recipe (BatchNorm in G *and* D, non-saturating loss, Adam 2e-4)
is the plain GAN that collapses; ``BEST_RECIPE["ring8"]`` (the ``gan`` recipe: BatchNorm in G
only) covers all 8 modes (docs/bench/toy.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganforge.lab import plt
from ganforge.metrics.toy import mode_metrics
from ganforge.toy import BEST_RECIPE, toy_config, train_toy
from ganforge.views.toy import plot_snapshots

COLLAPSING = "dcgan"


def run(out: Path, steps: int | None = None, seed: int = 0) -> dict[str, Any]:
    steps = steps or 2000
    recipes = [COLLAPSING, BEST_RECIPE["ring8"]]
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
