"""Unrolled discriminator steps for the generator's loss (Metz et al. 2017, arXiv:1611.02163).

G minimises f(θ_G, θ_D^K), where θ_D^0 = θ_D and θ_D^{k+1} = θ_D^k − η·update(∇ L_D(θ_G, θ_D^k));
the K look-ahead steps are taken on copies of D's weights with ``create_graph=True``, so G's
gradient flows through them (the paper's full, second-order variant) and D itself is unchanged.
The update is the D optimiser's own Adam rule continued from its moment estimates when the
loop bound it (``Game.bind_optimizers`` sets ``game.d_optimizer``), else plain gradient
descent with lr_d.
Only the adversarial D loss is unrolled (no penalty, no auxiliary heads). D's buffers are
copied for the look-ahead, so G's step leaves D exactly as it was.
"""

from __future__ import annotations

import torch


def _adam_step(p, g, state: dict, group: dict, t: int):
    """One differentiable Adam step (step number t >= 1) from moments ``state`` (zeros if none)."""
    b1, b2 = group["betas"]
    eps, lr = group["eps"], group["lr"]
    m = b1 * state.get("exp_avg", 0.0) + (1 - b1) * g
    v = b2 * state.get("exp_avg_sq", 0.0) + (1 - b2) * g * g
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    # sqrt(v̂ + eps²) instead of sqrt(v̂): finite derivative where a gradient is exactly 0
    return p - lr * m_hat / (torch.sqrt(v_hat + eps * eps) + eps), {"exp_avg": m, "exp_avg_sq": v}


def unrolled_logits(game, real: torch.Tensor, fake: torch.Tensor, y, y_real, step: int):
    """D^K(fake) after ``cfg.unroll`` look-ahead steps of D on (real, fake), differentiable
    in G's parameters through ``fake`` and through the look-ahead updates."""
    from torch.func import functional_call  # imported lazily: it pulls in torch._dynamo

    cfg = game.cfg
    named = dict(game.D.named_parameters())
    params = {n: p.detach().requires_grad_(True) for n, p in named.items()}
    # the look-ahead runs on copies of D's buffers (BatchNorm statistics, spectral norm's power
    # iteration vectors): like its weights, D's state must not move during G's step
    buffers = {n: b.clone() for n, b in game.D.named_buffers()}
    opt = game.d_optimizer  # bound by the loop (Game.bind_optimizers); None before
    adam = isinstance(opt, torch.optim.Adam)
    group = opt.param_groups[0] if opt is not None else None
    states = {n: (dict(opt.state.get(p, {})) if adam else {}) for n, p in named.items()}
    t0 = {n: int(s["step"]) if "step" in s else 0 for n, s in states.items()}

    def logits(x, labels, ps):
        return functional_call(game.D, {**ps, **buffers}, (game._pack(x), labels))[0]

    real_in = game.d_input(real, step)
    for k in range(cfg.unroll):
        r_out = logits(real_in, y_real, params)
        f_out = logits(game.d_input(fake, step), y, params)
        loss = game.d_fn(r_out, f_out, cfg.label_smoothing)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
        new = {}
        for (n, p), g in zip(params.items(), grads, strict=True):
            if adam:
                new[n], states[n] = _adam_step(p, g, states[n], group, t0[n] + k + 1)
            else:
                new[n] = p - cfg.lr_d * g
        params = new
    return logits(game.d_input(fake, step), y, params)
