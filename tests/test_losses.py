"""Adversarial losses against hand-computed values, and the minimax value at the optimal D."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from ganforge import losses


def sp(t: float) -> float:
    """softplus by hand: log(1 + e^t)."""
    return math.log1p(math.exp(t))


REAL = torch.tensor([0.0, 2.0], dtype=torch.float64)
FAKE = torch.tensor([-1.0, 0.5], dtype=torch.float64)


def close(a: torch.Tensor, b: float) -> None:
    assert a.dim() == 0
    assert a.item() == pytest.approx(b, rel=1e-12, abs=1e-12)


def test_minimax_d_is_binary_cross_entropy_on_logits():
    # -[log s(0) + log s(2)]/2 - [log(1 - s(-1)) + log(1 - s(0.5))]/2
    expected = (sp(-0.0) + sp(-2.0)) / 2 + (sp(-1.0) + sp(0.5)) / 2
    close(losses.minimax_d(REAL, FAKE), expected)
    # the same via probabilities (what BCELoss(sigmoid) would compute, in float64)
    d_r, d_f = torch.sigmoid(REAL), torch.sigmoid(FAKE)
    close(losses.minimax_d(REAL, FAKE), (-(d_r.log()).mean() - (1 - d_f).log().mean()).item())


def test_one_sided_label_smoothing_changes_only_the_real_target():
    t = 0.9
    expected = (t * (sp(0.0) + sp(-2.0)) + (1 - t) * (sp(0.0) + sp(2.0))) / 2
    expected += (sp(-1.0) + sp(0.5)) / 2
    close(losses.minimax_d(REAL, FAKE, smoothing=0.1), expected)


def test_generator_losses_by_hand():
    # minimax G: E[log(1 - D(G(z)))] = -E[softplus(logit)]
    close(losses.minimax_g(FAKE), -(sp(-1.0) + sp(0.5)) / 2)
    # non-saturating G: -E[log D(G(z))] = E[softplus(-logit)]
    close(losses.non_saturating_g(FAKE), (sp(1.0) + sp(-0.5)) / 2)
    close(losses.least_squares_g(FAKE), 0.5 * ((-2.0) ** 2 + (-0.5) ** 2) / 2)
    close(losses.hinge_g(FAKE), -(-1.0 + 0.5) / 2)
    close(losses.wasserstein_g(FAKE), 0.25)


def test_least_squares_d_by_hand():
    # 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2] with a=0, b=c=1
    expected = 0.5 * ((0 - 1) ** 2 + (2 - 1) ** 2) / 2 + 0.5 * (1.0 + 0.25) / 2
    close(losses.least_squares_d(REAL, FAKE), expected)


def test_hinge_d_by_hand():
    real = torch.tensor([0.5, 2.0])
    fake = torch.tensor([-2.0, 0.5])
    # relu(1 - 0.5)=0.5, relu(1 - 2)=0 -> 0.25 ; relu(1 - 2)=0, relu(1 + 0.5)=1.5 -> 0.75
    assert losses.hinge_d(real, fake).item() == pytest.approx(1.0)


def test_wasserstein_d_by_hand():
    close(losses.wasserstein_d(REAL, FAKE), (-1.0 + 0.5) / 2 - (0.0 + 2.0) / 2)


def test_losses_are_finite_for_extreme_logits():
    big = torch.tensor([1e4, -1e4])
    for d_fn, g_fn in losses.LOSSES.values():
        assert torch.isfinite(d_fn(big, -big))
        assert torch.isfinite(g_fn(big))


def test_every_loss_is_registered_with_both_players():
    assert set(losses.LOSSES) == {
        "minimax",
        "non-saturating",
        "least-squares",
        "hinge",
        "wasserstein",
    }
    for name in losses.LOSSES:
        d_fn, g_fn = losses.get_loss(name)
        assert d_fn.__doc__ and g_fn.__doc__, name
        assert re.search(r"20[01]\d", d_fn.__doc__), f"{name}: docstring cites no paper"


# -- the minimax value at the optimal discriminator ---------------------------------------
P_DATA = stats.norm(0.0, 1.0)
P_G = stats.norm(1.5, 0.7)


def _js(p, q) -> float:
    """JS(p || q) by adaptive quadrature of 1/2 KL(p || m) + 1/2 KL(q || m)."""

    def integrand(x: float) -> float:
        a, b = p.pdf(x), q.pdf(x)
        m = 0.5 * (a + b)
        out = 0.0
        if a > 0:
            out += 0.5 * a * math.log(a / m)
        if b > 0:
            out += 0.5 * b * math.log(b / m)
        return out

    value, _ = integrate.quad(integrand, -15, 15, limit=400)
    return value


def _quantile_grid(dist, n: int) -> torch.Tensor:
    """Midpoint rule in probability space: E_dist[f] ~ mean f(F^-1((i + 1/2) / n))."""
    u = (np.arange(n) + 0.5) / n
    return torch.from_numpy(dist.ppf(u))


def _optimal_logit(x: torch.Tensor) -> torch.Tensor:
    """logit D*(x) = log p_data(x) - log p_g(x), D* = p_data / (p_data + p_g)."""
    xn = x.numpy()
    return torch.from_numpy(P_DATA.logpdf(xn) - P_G.logpdf(xn))


def test_minimax_value_at_optimal_d_is_2js_minus_2log2():
    n = 200_000
    real = _optimal_logit(_quantile_grid(P_DATA, n))
    fake = _optimal_logit(_quantile_grid(P_G, n))
    value = -losses.minimax_d(real, fake).item()  # V(D*, G) = -(D's loss)
    expected = 2 * _js(P_DATA, P_G) - 2 * math.log(2)
    assert 0.05 < _js(P_DATA, P_G) < math.log(2)  # the two Gaussians overlap partly
    assert value == pytest.approx(expected, abs=2e-4)


def test_optimal_d_minimises_the_discriminator_loss():
    n = 50_000
    real = _optimal_logit(_quantile_grid(P_DATA, n))
    fake = _optimal_logit(_quantile_grid(P_G, n))
    best = losses.minimax_d(real, fake).item()
    for shift in (-0.5, -0.1, 0.1, 0.5):
        assert losses.minimax_d(real + shift, fake + shift).item() > best
    for scale in (0.8, 1.2):
        assert losses.minimax_d(real * scale, fake * scale).item() > best
