"""Vanishing generator gradients as D improves (Arjovsky & Bottou 2017, figs. 2–3).

A generator trained briefly on ring8 (10 steps: its samples are still off the ring, so a
perfect D exists, as for the disjoint supports of the paper) is frozen; a discriminator is trained from scratch and every
few D steps we measure ||∇_θG L_G|| on a fixed latent batch for

- the minimax loss L_G = E[log(1 − D(G(z)))]: ∇ → 0 as D(G(z)) → 0 (Theorem 2.4);
- the non-saturating loss L_G = −E[log D(G(z))]: ∇ does not vanish (it grows, Theorem 2.6);
- the Wasserstein loss L_G = −E[f(G(z))] with a WGAN-GP critic f: ∇ stays of order one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganforge.data.toy import ring8
from ganforge.lab import plt
from ganforge.losses import minimax_d, minimax_g, non_saturating_g, wasserstein_d, wasserstein_g
from ganforge.models.toy import ToyDiscriminator
from ganforge.penalties import gradient_penalty
from ganforge.toy import toy_config, train_toy

LR_D = 5e-3  # a fast D makes the saturation visible within a few hundred steps


def _grad_norm(G, loss) -> float:
    grads = torch.autograd.grad(loss, [p for p in G.parameters()])
    return float(torch.sqrt(sum(g.pow(2).sum() for g in grads)))


def run(out: Path, steps: int | None = None, seed: int = 0, pretrain: int = 10) -> dict[str, Any]:
    steps = steps or 1000
    cfg = toy_config("gan", "ring8", steps=pretrain, seed=seed, g_width=64, d_width=64)
    G = train_toy(cfg).game.G
    G.eval()
    G.requires_grad_(True)
    mix = ring8()
    gen = torch.Generator().manual_seed(seed + 7)
    z = torch.randn(512, cfg.z_dim, generator=gen)
    every = max(1, steps // 25)
    curves: dict[str, list[float]] = {"minimax": [], "non-saturating": [], "wasserstein": []}
    at: list[int] = []
    torch.manual_seed(seed)
    D = ToyDiscriminator(2, 64, "none")
    F = ToyDiscriminator(2, 64, "none")
    opt_d = torch.optim.Adam(D.parameters(), lr=LR_D, betas=(0.5, 0.999))
    opt_f = torch.optim.Adam(F.parameters(), lr=1e-3, betas=(0.5, 0.9))
    for step in range(steps + 1):
        if step % every == 0 or step == steps:
            at.append(step)
            for name, net, g_fn in (
                ("minimax", D, minimax_g),
                ("non-saturating", D, non_saturating_g),
                ("wasserstein", F, wasserstein_g),
            ):
                curves[name].append(_grad_norm(G, g_fn(net(G(z)))))
        if step == steps:
            break
        real = mix.sample(256, gen)
        with torch.no_grad():
            fake = G(torch.randn(256, cfg.z_dim, generator=gen))
        loss = minimax_d(D(real), D(fake))
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
        loss_f = wasserstein_d(F(real), F(fake)) + 10 * gradient_penalty(F, real, fake)
        opt_f.zero_grad()
        loss_f.backward()
        opt_f.step()
    p = plt()
    fig, ax = p.subplots(figsize=(6, 3.6))
    for name, ys in curves.items():
        ax.semilogy(at, [max(y, 1e-12) for y in ys], label=name)
    ax.set_xlabel("discriminator steps (from scratch, G fixed)")
    ax.set_ylabel("||∇_θG L_G||")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "vanishing_gradients.png", dpi=90)
    p.close(fig)
    final = {k: v[-1] for k, v in curves.items()}
    return {
        "steps": steps,
        "pretrain_steps": pretrain,
        "at": at,
        "grad_norm": curves,
        "final": final,
        "minimax_decay": curves["minimax"][-1] / max(curves["minimax"][0], 1e-30),
        "files": [str(out / "vanishing_gradients.png")],
    }
