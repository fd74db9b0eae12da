"""JS vs Wasserstein on the notes' parallel lines (Arjovsky et al. 2017, Example 1).

P_0 = law of (0, Z) and P_θ = law of (θ, Z), Z ~ U[0, 1]. Analytically JS(P_0, P_θ) = log 2 for
every θ ≠ 0 (and 0 at θ = 0): no gradient in θ; W(P_0, P_θ) = |θ|: a useful gradient everywhere.
For each θ two critics are trained from scratch on samples:

- a logistic D (minimax loss); JS is estimated as log 2 − L_D/2, since
  max_D V(D) = 2 JS − log 4 and L_D = −V;
- a WGAN-GP critic (Gulrajani et al. 2017, λ = 10); W is estimated as E_P0[f] − E_Pθ[f].
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganforge.lab import plt
from ganforge.losses import minimax_d, wasserstein_d
from ganforge.penalties import gradient_penalty


def _lines(n: int, theta: float) -> torch.Tensor:
    return torch.stack([torch.full((n,), theta), torch.rand(n)], 1)


def _net() -> nn.Module:
    return nn.Sequential(
        nn.Linear(2, 64), nn.LeakyReLU(0.2), nn.Linear(64, 64), nn.LeakyReLU(0.2), nn.Linear(64, 1)
    )


def estimate(theta: float, steps: int, wasserstein: bool) -> float:
    """The trained critic's estimate of JS (logistic D) or W (WGAN-GP critic) at θ."""
    f = _net()
    opt = torch.optim.Adam(f.parameters(), lr=1e-3, betas=(0.5, 0.9))

    def crit(x):
        return f(x).squeeze(1)

    for _ in range(steps):
        real, fake = _lines(256, 0.0), _lines(256, theta)
        if wasserstein:
            loss = wasserstein_d(crit(real), crit(fake)) + 10 * gradient_penalty(crit, real, fake)
        else:
            loss = minimax_d(crit(real), crit(fake))
        opt.zero_grad()
        loss.backward()
        opt.step()
    real, fake = _lines(4096, 0.0), _lines(4096, theta)
    with torch.no_grad():
        if wasserstein:
            return float(crit(real).mean() - crit(fake).mean())
        return math.log(2) - 0.5 * float(minimax_d(crit(real), crit(fake)))


def run(out: Path, steps: int | None = None, seed: int = 0, thetas=None) -> dict[str, Any]:
    steps = steps or 400
    torch.manual_seed(seed)
    thetas = [round(t, 3) for t in (thetas or torch.linspace(-1, 1, 9).tolist())]
    js_true = [0.0 if t == 0 else math.log(2) for t in thetas]
    w_true = [abs(t) for t in thetas]
    js_est = [estimate(t, steps, False) for t in thetas]
    w_est = [estimate(t, steps, True) for t in thetas]
    w_corr = float(torch.corrcoef(torch.tensor([w_est, w_true]))[0, 1])
    off = [j for j, t in zip(js_est, thetas, strict=True) if t != 0]
    p = plt()
    fig, ax = p.subplots(1, 2, figsize=(9, 3.4))
    ax[0].plot(thetas, js_true, "k--", label="JS (analytic)")
    ax[0].plot(thetas, js_est, "o-", label="JS estimated by trained D")
    ax[0].set_xlabel("θ")
    ax[0].legend(fontsize=7)
    ax[1].plot(thetas, w_true, "k--", label="W = |θ| (analytic)")
    ax[1].plot(thetas, w_est, "o-", label="W estimated by WGAN-GP critic")
    ax[1].set_xlabel("θ")
    ax[1].legend(fontsize=7)
    ax[1].set_title(f"corr(estimate, |θ|) = {w_corr:.3f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "js_vs_w.png", dpi=90)
    p.close(fig)
    return {
        "steps": steps,
        "theta": thetas,
        "js_analytic": js_true,
        "js_estimate": js_est,
        "w_analytic": w_true,
        "w_estimate": w_est,
        "w_corr_abs_theta": w_corr,
        "js_off_zero_min": min(off),
        "js_off_zero_max": max(off),
        "files": [str(out / "js_vs_w.png")],
    }
