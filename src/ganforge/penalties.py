"""Regularisers that keep the discriminator (critic) Lipschitz or smooth.

All take ``critic``: a callable from a batch of inputs to one output per sample, so labels or
other conditioning are closed over by the caller.
"""

from __future__ import annotations

from collections.abc import Callable

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


@torch.no_grad()
def clip_weights(module: nn.Module, c: float) -> None:
    """WGAN's weight clipping (Arjovsky et al. 2017): every parameter to [-c, c] after each step."""
    for p in module.parameters():
        p.clamp_(-c, c)
