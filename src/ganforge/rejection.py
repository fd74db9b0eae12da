"""Discriminator rejection sampling (DRS; Azadi et al. 2019, arXiv:1810.06758).

For the logistic GAN losses (non-saturating and minimax) the optimal discriminator is
D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, prop. 1), so its logit is the
log density ratio

    D̃*(x) = log D*(x) − log(1 − D*(x)) = log p_data(x) − log p_g(x).

Classic rejection sampling with proposal p_g and envelope e^M p_g, M ≥ max_x D̃(x), accepts a
proposal x ~ p_g with probability exp(D̃(x) − M); the accepted samples are distributed as
p_g · e^{D̃} / Z, which is p_data exactly when D = D*. In practice D is only near D*, and DRS
removes what it can tell apart: samples between modes (where p_data ≈ 0 and D̃ ≪ 0) and
surplus mass on over-represented modes. It cannot create modes G never proposes.

As in the paper, M is estimated from a burn-in of proposals (the first 100,000), and like the
paper's γ shift it is not the very largest logit: M is the burn-in's 99.99th percentile, and
the 0.01 % of p_g's mass above it is accepted with probability 1 (``RejectionStats.clipped``
counts those proposals). The correction stays exact below M. The largest logit of a sharp
classifier lies far out in a heavy tail (on grid25 the 99.99th percentile is about 6, the
maximum of 200,000 about 7), and serving it exactly would cut the acceptance rate several-fold
and make it depend on one unlucky proposal. Where the logit is smooth (a GAN's own D) the
percentile is close to the maximum. Within the cap we use the acceptance exp(D̃ − M) itself,
not the paper's sigmoid with a γ shift.

**Calibration** (:func:`fit_ratio_classifier`, config key ``drs_calibration``). A GAN's D is
trained against a moving G and is smoothed by its architecture, so its logit is often far from
log p_data/p_g (on the 25-Gaussian grid it barely separates modes from the bridges between
them). A probabilistic classifier trained afterwards, with G fixed, on real (label 1) against
G's samples (label 0) in equal numbers estimates the same ratio: at its optimum
c(x) = p_data/(p_data + p_g) and its logit is log p_data − log p_g. That is the
likelihood-free importance weighting of Grover et al. 2019 (arXiv:1906.09531), used here as the
DRS logit. It needs no particular GAN loss: the classifier's loss is always the logistic one.

``beta`` (config key ``drs_beta``) tempers the rule to exp(β (D̃ − M)): the accepted samples
then follow p_g (p_data / p_g)^β ∝ p_data^β p_g^(1−β). β = 1 is the exact correction; β > 1
sharpens towards what D finds most real, trading diversity for quality when D is only
approximately D* (the role of the paper's γ).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

Propose = Callable[[int, int], torch.Tensor]  # (n, seed) -> n samples of G
Logit = Callable[[torch.Tensor], torch.Tensor]  # samples -> D's logits (n,)


@dataclass
class RejectionStats:
    proposed: int
    accepted: int
    max_logit: float  # M, in logit units
    clipped: int = 0  # proposals used whose logit is above M (accepted outright)

    @property
    def acceptance(self) -> float:
        return self.accepted / max(self.proposed, 1)


@torch.no_grad()
def rejection_sample(
    propose: Propose,
    logit: Logit,
    n: int,
    seed: int,
    batch: int = 10_000,
    max_proposals: int = 2_000_000,
    beta: float = 1.0,
    burn_in: int = 100_000,
    quantile: float = 0.9999,
) -> tuple[torch.Tensor, RejectionStats]:
    """``n`` samples of G accepted with probability min(1, exp(β (D̃(x) − M))) (module
    docstring); M = the ``quantile`` of the logits of the first ``burn_in`` proposals.

    ``propose(k, s)`` draws k samples of G (in eval mode) from seed s; ``logit`` gives D's
    logits. Deterministic for a given seed. Raises RuntimeError when fewer than ``n`` of
    ``max_proposals`` proposals are accepted (D rejects almost everything G makes).
    """
    rng = torch.Generator().manual_seed(seed)

    def draw(k: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = propose(batch, seed * 1_000_003 + k)
        return x, beta * logit(x).double().reshape(-1).cpu()

    warm = [draw(k) for k in range(max(1, -(-min(burn_in, max_proposals) // batch)))]
    m = float(torch.quantile(torch.cat([d for _, d in warm]), quantile))
    kept: list[torch.Tensor] = []
    got = proposed = clipped = 0
    k = 0
    while got < n:
        if proposed >= max_proposals:
            raise RuntimeError(
                f"discriminator rejection sampling accepted only {got} of {proposed} proposals "
                f"(needed {n}); D rejects almost every sample of G"
            )
        x, d = warm[k] if k < len(warm) else draw(k)
        k += 1
        clipped += int((d > m).sum())
        u = torch.rand(d.shape[0], generator=rng, dtype=torch.double)
        accept = u < (d - m).exp()
        kept.append(x[accept.to(x.device)])
        got += int(accept.sum())
        proposed += d.shape[0]
    samples = torch.cat(kept)[:n]
    return samples, RejectionStats(proposed, got, m / beta, clipped)


def fit_ratio_classifier(
    classifier: nn.Module,
    real: Callable[[int], torch.Tensor],
    fake: Callable[[int], torch.Tensor],
    steps: int,
    batch: int = 512,
    lr: float = 1e-3,
) -> nn.Module:
    """Train ``classifier`` (x -> logit) to tell ``real(batch)`` (1) from ``fake(batch)`` (0).

    Logistic loss on equal numbers of each, Adam(lr, betas 0.5/0.999) with the learning rate
    falling linearly to 0 over ``steps``. At the optimum the logit is log p_data − log p_g
    (module docstring). ``fake`` must return samples of the fixed G without a graph. Returns
    the classifier in eval mode.
    """
    classifier.train()
    opt = torch.optim.Adam(classifier.parameters(), lr=lr, betas=(0.5, 0.999))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0 - i / steps)
    target = torch.cat([torch.ones(batch), torch.zeros(batch)])
    for _ in range(steps):
        x = torch.cat([real(batch), fake(batch)])
        loss = F.binary_cross_entropy_with_logits(classifier(x).reshape(-1), target.to(x.device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return classifier.eval()
