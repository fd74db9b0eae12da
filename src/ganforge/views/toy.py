"""Pictures of toy runs: samples over the data with D's contour, and snapshots over training."""

from __future__ import annotations

from pathlib import Path

import torch


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _limits(mixture) -> float:
    return float(mixture.means.abs().max()) * 1.5 + 0.5


@torch.no_grad()
def critic_field(game, lim: float, n: int = 120) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """D's output on an n×n grid over [−lim, lim]²; with packing each point fills every slot."""
    axis = torch.linspace(-lim, lim, n)
    gx, gy = torch.meshgrid(axis, axis, indexing="xy")
    pts = torch.stack([gx.flatten(), gy.flatten()], 1)
    was = game.D.training
    game.D.eval()
    packed = pts.repeat(1, game.cfg.pack)
    out = game.D(packed, None)[0]
    game.D.train(was)
    if game.cfg.loss in ("non-saturating", "minimax"):
        out = torch.sigmoid(out)
    return gx, gy, out.reshape(n, n)


def plot_samples(run, path: Path) -> None:
    """Generated samples (dots) over the mixture's means, on D's contour."""
    plt = _plt()
    mix = run.mixture
    lim = _limits(mix)
    gx, gy, field = critic_field(run.game, lim)
    fig, ax = plt.subplots(figsize=(5.2, 5))
    cs = ax.contourf(gx.numpy(), gy.numpy(), field.numpy(), levels=20, cmap="coolwarm", alpha=0.6)
    fig.colorbar(
        cs, ax=ax, label="D(x)" if run.cfg.loss in ("non-saturating", "minimax") else "critic"
    )
    s = run.samples.numpy()
    ax.scatter(
        s[:, 0],
        s[:, 1],
        s=2,
        c="k",
        alpha=0.5,
        label="G samples after DRS" if run.extra else "G samples",
    )
    m = mix.means.numpy()
    ax.scatter(m[:, 0], m[:, 1], s=40, facecolors="none", edgecolors="lime", label="modes")
    met = run.metrics
    ax.set_title(
        f"{run.cfg.recipe} on {mix.name}: {met['modes']:.0f} modes, "
        f"HQ {100 * met['high_quality']:.1f}%, rKL {met['reverse_kl']:.3f}",
        fontsize=9,
    )
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_snapshots(run, path: Path, axes=None, label: str | None = None) -> None:
    """A strip of G's samples at the snapshot steps (real data in light grey)."""
    plt = _plt()
    mix = run.mixture
    lim = _limits(mix)
    real = mix.sample(1000, torch.Generator().manual_seed(0)).numpy()
    n = len(run.snapshots)
    own = axes is None
    if own:
        fig, axes = plt.subplots(1, n, figsize=(2.2 * n, 2.4))
    for ax, (step, x) in zip(axes, run.snapshots, strict=False):
        ax.scatter(real[:, 0], real[:, 1], s=1, c="0.75")
        ax.scatter(x[:, 0].numpy(), x[:, 1].numpy(), s=2, c="tab:blue")
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"step {step}", fontsize=8)
    if label is not None:
        axes[0].set_ylabel(label, fontsize=9)
    if own:
        fig.suptitle(f"{run.cfg.recipe} on {mix.name}", fontsize=9)
        fig.tight_layout()
        fig.savefig(path, dpi=80)
        plt.close(fig)
