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

As in the paper, M is estimated from a burn-in batch of proposals and raised whenever a later
proposal exceeds it. Unlike the paper we use the exact acceptance exp(D̃ − M), without the γ
shift that trades exactness for a higher acceptance rate.

``beta`` (config key ``drs_beta``) tempers the rule to exp(β (D̃ − M)): the accepted samples
then follow p_g (p_data / p_g)^β ∝ p_data^β p_g^(1−β). β = 1 is the exact correction; β > 1
sharpens towards what D finds most real, trading diversity for quality when D is only
approximately D* (the role of the paper's γ).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Propose = Callable[[int, int], torch.Tensor]  # (n, seed) -> n samples of G
Logit = Callable[[torch.Tensor], torch.Tensor]  # samples -> D's logits (n,)


@dataclass
class RejectionStats:
    proposed: int
    accepted: int
    max_logit: float

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
) -> tuple[torch.Tensor, RejectionStats]:
    """``n`` samples of G accepted with probability exp(β (D̃(x) − M)) (module docstring).

    ``propose(k, s)`` draws k samples of G (in eval mode) from seed s; ``logit`` gives D's
    logits. Deterministic for a given seed. Raises RuntimeError when fewer than ``n`` of
    ``max_proposals`` proposals are accepted (D rejects almost everything G makes).
    """
    rng = torch.Generator().manual_seed(seed)
    kept: list[torch.Tensor] = []
    got, proposed, m = 0, 0, -float("inf")
    k = 0
    while got < n:
        if proposed >= max_proposals:
            raise RuntimeError(
                f"discriminator rejection sampling accepted only {got} of {proposed} proposals "
                f"(needed {n}); D rejects almost every sample of G"
            )
        x = propose(batch, seed * 1_000_003 + k)
        k += 1
        d = beta * logit(x).double().reshape(-1).cpu()
        m = max(m, float(d.max()))  # the first batch is the burn-in estimate of M
        u = torch.rand(d.shape[0], generator=rng, dtype=torch.double)
        accept = u < (d - m).exp()
        kept.append(x[accept.to(x.device)])
        got += int(accept.sum())
        proposed += batch
    samples = torch.cat(kept)[:n]
    return samples, RejectionStats(proposed, got, m / beta)  # M in logit units
