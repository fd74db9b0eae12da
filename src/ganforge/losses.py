"""Adversarial losses as pure functions of discriminator outputs (logits, never probabilities).

Every function takes the raw outputs ``real`` = D(x) and ``fake`` = D(G(z)) and returns a scalar
to *minimise*. Working on logits with ``softplus`` keeps the log terms finite where
``BCELoss(sigmoid(.))`` would saturate: log(sigmoid(t)) = -softplus(-t) and
log(1 - sigmoid(t)) = -softplus(t).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def _bce_real(real: Tensor, smoothing: float) -> Tensor:
    """E[-t log D(x) - (1-t) log(1-D(x))] with target t = 1 - smoothing (one-sided smoothing)."""
    if smoothing:
        t = 1.0 - smoothing
        return (t * F.softplus(-real) + (1 - t) * F.softplus(real)).mean()
    return F.softplus(-real).mean()


def minimax_d(real: Tensor, fake: Tensor, smoothing: float = 0.0) -> Tensor:
    """Goodfellow et al. (2014), D's side of min_G max_D V(D, G):

    V = E_x[log D(x)] + E_z[log(1 - D(G(z)))];  D minimises -V
      = E[softplus(-D_logit(x))] + E[softplus(D_logit(G(z)))].
    With ``smoothing`` s the real target is 1 - s (Salimans et al. 2016, one-sided).
    """
    return _bce_real(real, smoothing) + F.softplus(fake).mean()


def minimax_g(fake: Tensor) -> Tensor:
    """G minimises E_z[log(1 - D(G(z)))] = -E[softplus(D_logit(G(z)))] (saturates early)."""
    return -F.softplus(fake).mean()


non_saturating_d = minimax_d


def non_saturating_g(fake: Tensor) -> Tensor:
    """The non-saturating G loss of Goodfellow et al. (2014): maximise E[log D(G(z))],
    i.e. minimise E[softplus(-D_logit(G(z)))]; strong gradients while D rejects the fakes."""
    return F.softplus(-fake).mean()


def least_squares_d(real: Tensor, fake: Tensor, smoothing: float = 0.0) -> Tensor:
    """LSGAN (Mao et al. 2017), a-b-c = 0-1-1: 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]."""
    target = 1.0 - smoothing
    return 0.5 * ((real - target) ** 2).mean() + 0.5 * (fake**2).mean()


def least_squares_g(fake: Tensor) -> Tensor:
    """LSGAN generator: 1/2 E[(D(G(z)) - 1)^2]."""
    return 0.5 * ((fake - 1.0) ** 2).mean()


def hinge_d(real: Tensor, fake: Tensor, smoothing: float = 0.0) -> Tensor:
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018): E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def hinge_g(fake: Tensor) -> Tensor:
    """Hinge generator loss: -E[D(G(z))]."""
    return -fake.mean()


def wasserstein_d(real: Tensor, fake: Tensor, smoothing: float = 0.0) -> Tensor:
    """WGAN critic (Arjovsky et al. 2017): minimise E[D(G(z))] - E[D(x)], an estimate of -W(p_r, p_g)
    when D is 1-Lipschitz (enforced by clipping, a gradient penalty or spectral norm)."""
    return fake.mean() - real.mean()


def wasserstein_g(fake: Tensor) -> Tensor:
    """WGAN generator: minimise -E[D(G(z))]."""
    return -fake.mean()


DLoss = Callable[..., Tensor]
GLoss = Callable[[Tensor], Tensor]

LOSSES: dict[str, tuple[DLoss, GLoss]] = {
    "non-saturating": (non_saturating_d, non_saturating_g),
    "minimax": (minimax_d, minimax_g),
    "least-squares": (least_squares_d, least_squares_g),
    "hinge": (hinge_d, hinge_g),
    "wasserstein": (wasserstein_d, wasserstein_g),
}


def get_loss(name: str) -> tuple[DLoss, GLoss]:
    """(discriminator loss, generator loss) of a named adversarial loss."""
    return LOSSES[name]
