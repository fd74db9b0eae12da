"""The optimal discriminator (Goodfellow et al. 2014, Proposition 1).

For fixed G, D maximising V(D, G) = E_{p_data}[log D] + E_{p_g}[log(1 − D)] is
D*(x) = p_data(x) / (p_data(x) + p_g(x)). Here p_data = N(0, 1) and p_g = N(2, 0.75²) are fixed
1-D Gaussians; a small MLP D is trained on fresh samples with the minimax D loss and compared
with D* on the bulk of the mass: the central 98% of the mixture (p_data + p_g)/2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganforge.lab import plt
from ganforge.losses import minimax_d

DATA = (0.0, 1.0)
GEN = (2.0, 0.75)


def _pdf(x: torch.Tensor, mu: float, sd: float) -> torch.Tensor:
    return torch.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * (2 * torch.pi) ** 0.5)


def run(out: Path, steps: int | None = None, seed: int = 0) -> dict[str, Any]:
    steps = steps or 2000
    torch.manual_seed(seed)
    d = nn.Sequential(nn.Linear(1, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
    opt = torch.optim.Adam(d.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        real = DATA[0] + DATA[1] * torch.randn(512, 1)
        fake = GEN[0] + GEN[1] * torch.randn(512, 1)
        loss = minimax_d(d(real).squeeze(1), d(fake).squeeze(1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    x = torch.linspace(-4, 5, 901)
    with torch.no_grad():
        learned = torch.sigmoid(d(x[:, None]).squeeze(1))
    pd, pg = _pdf(x, *DATA), _pdf(x, *GEN)
    d_star = pd / (pd + pg)
    mix = 0.5 * (pd + pg)
    cdf = torch.cumsum(mix, 0) / mix.sum()
    bulk = (cdf >= 0.01) & (cdf <= 0.99)
    err = (learned - d_star).abs()
    p = plt()
    fig, ax = p.subplots(figsize=(6, 3.6))
    ax.plot(x, pd, "k", label="p_data")
    ax.plot(x, pg, "g", label="p_g")
    ax.plot(x, d_star, "r--", label="D*(x)")
    ax.plot(x, learned, "b", label="learned D(x)")
    lo, hi = float(x[bulk][0]), float(x[bulk][-1])
    ax.axvspan(lo, hi, color="0.9", zorder=0, label="bulk (98% of mass)")
    ax.set_title(f"max |D - D*| on the bulk = {float(err[bulk].max()):.3f}", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "optimal_d.png", dpi=90)
    p.close(fig)
    return {
        "steps": steps,
        "p_data": {"mean": DATA[0], "std": DATA[1]},
        "p_g": {"mean": GEN[0], "std": GEN[1]},
        "bulk": [lo, hi],
        "max_abs_error_bulk": float(err[bulk].max()),
        "mean_abs_error_bulk": float(err[bulk].mean()),
        "files": [str(out / "optimal_d.png")],
    }
