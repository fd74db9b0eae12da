"""Regularisers: on the discriminator (Lipschitz or smooth critic) and on the generator.

D-side penalties take ``critic``: a callable from a batch of inputs to one output per sample, so
labels, conditioning and augmentation are closed over by the caller. ``D_PENALTIES`` and
``G_PENALTIES`` are the only lists of them: config validation, the game and the compile step
read their entries.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn

Critic = Callable[[torch.Tensor], torch.Tensor]
EPS = 1e-12  # keeps sqrt differentiable at a zero gradient (d sqrt(u)/du is infinite at 0)


def _per_sample_norm(t: torch.Tensor) -> torch.Tensor:
    """L2 norm of each sample over *all* non-batch dims (not over one axis of a 4-D tensor)."""
    return torch.sqrt(t.flatten(1).pow(2).sum(1) + EPS)


def _interpolate(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """a x + (1 - a) G(z), a ~ U[0, 1] per sample, in the wider of the two dtypes (under bf16
    autocast G's fakes are bf16 and the real batch float32; lerp needs one dtype)."""
    dtype = torch.promote_types(real.dtype, fake.dtype)
    alpha = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, dtype=dtype)
    return torch.lerp(fake.detach().to(dtype), real.detach().to(dtype), alpha)


def gradient_penalty(
    critic: Critic, real: torch.Tensor, fake: torch.Tensor, one_sided: bool = False
) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E_{x^ ~ P_x^}[(||grad_x^ D(x^)||_2 - 1)^2],
    x^ = a x + (1 - a) G(z), a ~ U[0, 1] per sample.

    ``one_sided`` penalises only norms above 1: E[max(0, ||grad|| - 1)^2] (Petzka et al. 2018).
    Returns the penalty without the weight lambda.
    """
    x_hat = _interpolate(real, fake).requires_grad_(True)
    out = critic(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    excess = _per_sample_norm(grad) - 1.0
    if one_sided:
        excess = excess.clamp(min=0.0)
    return excess.pow(2).mean()


def slope_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The notes' finite-difference penalty: two interpolates x1, x2 ~ P_x^ per sample and
    E[(|D(x1) - D(x2)| / ||x1 - x2||_2 - 1)^2]; no second-order gradients needed.
    """
    x1, x2 = _interpolate(real, fake), _interpolate(real, fake)
    out = critic(torch.cat([x1, x2], 0))
    d1, d2 = out[: len(x1)], out[len(x1) :]
    slope = (d1 - d2).abs() / _per_sample_norm(x1 - x2)
    return (slope - 1.0).pow(2).mean()


def r1_penalty(critic: Critic, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): E_{x ~ p_data}[||grad_x D(x)||^2]; weight with gamma/2."""
    x = real.detach().requires_grad_(True)
    out = critic(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()


def half_r1_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """R1 with Mescheder et al.'s gamma/2 built in: 1/2 E_{x ~ p_data}[||grad_x D(x)||^2]."""
    return r1_penalty(critic, real) * 0.5


def path_length_penalty(
    G: Callable[[torch.Tensor], torch.Tensor], w: torch.Tensor, mean: torch.Tensor, decay: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """StyleGAN2's path-length regulariser (Karras et al. 2020, "Analyzing and Improving the
    Image Quality of StyleGAN", eq. 4): E_{w, y}[(||J_w^T y||_2 - a)^2], y ~ N(0, I) of the
    image's shape scaled by 1/sqrt(H W) (so the length does not grow with the resolution),
    J_w the Jacobian of G at the latent w, and a the running mean of the lengths (an EMA with
    ``decay``, updated in place in ``mean``; the first call sets it). Returns (penalty,
    lengths); the penalty is differentiable in G's parameters (double backward through G)
    and, where ``w`` is itself computed (StyleGAN's w = mapping(z)), in the parameters that
    compute it, as the reference (its ``gen_ws`` is not detached).
    """
    if not w.requires_grad:  # a latent drawn outside autograd (z): differentiate at it
        w = w.detach().requires_grad_(True)
    images = G(w)
    pixels = math.prod(images.shape[2:]) if images.dim() > 2 else 1
    y = torch.randn_like(images) / math.sqrt(pixels)
    (grad,) = torch.autograd.grad((images * y).sum(), w, create_graph=True)
    lengths = grad.flatten(1).pow(2).sum(1).add(EPS).sqrt()
    with torch.no_grad():
        target = lengths.mean().to(mean.dtype)
        mean.copy_(torch.where(mean.isnan(), target, mean.lerp(target, decay)))  # no host sync
    return (lengths - mean.to(lengths.dtype)).pow(2).mean(), lengths.detach()


class DPenalty(NamedTuple):
    """A D-side penalty: ``fn(critic, real, fake)`` (without its weight); whether it
    differentiates through a gradient (compiled graphs cannot: D stays eager); whether it
    treats samples independently (then BatchNorm in D, which mixes them, is refused)."""

    fn: Callable[[Critic, torch.Tensor, torch.Tensor], torch.Tensor]
    double_backward: bool
    per_sample: bool


class GPenalty(NamedTuple):
    """A G-side regulariser and whether it differentiates through a gradient of G."""

    fn: Callable[..., tuple[torch.Tensor, torch.Tensor]]
    double_backward: bool


D_PENALTIES: dict[str, DPenalty] = {
    "gp": DPenalty(gradient_penalty, double_backward=True, per_sample=True),
    "gp-one-sided": DPenalty(
        lambda critic, real, fake: gradient_penalty(critic, real, fake, one_sided=True),
        double_backward=True,
        per_sample=True,
    ),
    "slope": DPenalty(slope_penalty, double_backward=False, per_sample=True),
    "r1": DPenalty(half_r1_penalty, double_backward=True, per_sample=True),
}


def orthogonal_regulariser(weights: list[torch.Tensor]) -> torch.Tensor:
    """BigGAN's off-diagonal orthogonal regularisation (Brock et al. 2019, arXiv:1809.11096,
    eq. 3): R = sum_W ||(W W^T) * (1 - I)||_F^2 (elementwise product), each weight flattened
    to rows of filters W (out, in k k) (the paper's W^T W with filters as columns). Only the
    filters' mutual cosines are pushed to 0, not their norms. dR/dW = 4 ((W W^T) * (1 - I)) W;
    the authors' code adds 2 ((W W^T) * (1 - I)) W to the gradients directly, a factor 2 that
    beta absorbs. Not a ``GPenalty`` (those differentiate G's output): a term of G's loss."""
    total = torch.zeros(())
    for w in weights:
        m = w.flatten(1)
        gram = m @ m.t()
        off = gram - torch.diag_embed(torch.diagonal(gram))
        total = total.to(off.device) + off.pow(2).sum()
    return total


G_PENALTIES: dict[str, GPenalty] = {
    "path_length": GPenalty(path_length_penalty, double_backward=True),
}
PATH_LENGTH_DECAY = 0.01  # StyleGAN2's pl_decay: the EMA rate of the target length a


class PathLengthTarget:
    """For games with a G-side regulariser: the path-length target a (``pl_mean``, NaN until
    the first regularised step), kept across steps and saved in every checkpoint (a game's
    ``extra_state``), so that a resumed run continues exactly. Put it before ``Game`` in the
    bases."""

    g_penalty: GPenalty | None
    pl_mean: torch.Tensor

    def g_regulariser(self, G: Callable[[torch.Tensor], torch.Tensor], w: torch.Tensor):
        """The G-side penalty (without its weight) of ``G`` at the latents ``w``."""
        assert self.g_penalty is not None
        self.pl_mean = self.pl_mean.to(w.device)
        value, _ = self.g_penalty.fn(G, w, self.pl_mean, PATH_LENGTH_DECAY)
        return value

    def extra_state(self) -> dict:
        return {} if self.g_penalty is None else {"pl_mean": self.pl_mean.detach().cpu()}

    def load_extra_state(self, state: dict) -> None:
        if "pl_mean" in state:
            self.pl_mean = torch.as_tensor(state["pl_mean"]).float().clone()


@torch.no_grad()
def clip_weights(module: nn.Module, c: float) -> None:
    """WGAN's weight clipping (Arjovsky et al. 2017): every parameter to [-c, c] after each step."""
    for p in module.parameters():
        p.clamp_(-c, c)
