"""A tutorial-style GAN training loop: the baseline ganforge's speed is measured against.

It does what a typical tutorial does (and what ganforge avoids): a ``Dataset`` converting every
image to a float tensor in ``__getitem__``, a ``DataLoader`` collating them, a sigmoid on D's
output followed by ``BCELoss``, fresh label tensors every step and ``.item()`` on the losses
every step (a host synchronisation per step). The networks are ganforge's own (same
architecture, batch size and optimiser as the recipe), so the comparison measures the loop.

For ``wgan-gp`` the loop is the usual tutorial one: ``d_steps`` critic steps with fresh fakes
and the gradient penalty of Gulrajani et al. (2017), then a G step with fresh fakes.

    python benchmarks/reference_loop.py --recipe dcgan --steps 100
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ganforge.config import Config
from ganforge.data import load_dataset
from ganforge.models import build_discriminator, build_generator
from ganforge.recipes import get_recipe


class TutorialDataset(Dataset):
    """Per-item conversion: numpy uint8 -> float tensor in [-1, 1], one image at a time."""

    def __init__(self, images: np.ndarray):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        img = torch.tensor(self.images[i], dtype=torch.float32) / 255.0
        return (img - 0.5) / 0.5


class WithSigmoid(nn.Module):
    """D(x) as a probability, as tutorials write it (then BCELoss)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x))


class ReferenceLoop:
    """Builds the recipe's G and D and trains them the tutorial way, step by step."""

    def __init__(self, recipe: str = "dcgan", batch_size: int = 64, seed: int = 0, **overrides):
        cfg: Config = get_recipe(recipe).config(batch_size=batch_size, seed=seed, **overrides)
        self.cfg = cfg
        torch.manual_seed(seed)
        data = load_dataset(cfg.dataset, "train", cfg.data_dir)
        shape = tuple(data.images.shape[1:])
        self.G = build_generator(cfg, cfg.z_dim, shape)
        net = build_discriminator(cfg, shape)
        self.wasserstein = cfg.loss == "wasserstein"
        self.D = net if self.wasserstein else WithSigmoid(net)
        self.criterion = nn.BCELoss()
        self.opt_g = self._optim(self.G, cfg.lr_g)
        self.opt_d = self._optim(self.D, cfg.lr_d)
        self.loader = DataLoader(
            TutorialDataset(data.images.numpy()),
            batch_size=batch_size,
            shuffle=True,
            drop_last=True,
            num_workers=0,
        )
        self._it: Iterator = iter(self.loader)
        self.autocast = (
            torch.autocast("cpu", dtype=torch.bfloat16)
            if cfg.precision == "bf16"
            else contextlib.nullcontext()
        )
        self.history: list[tuple[float, float]] = []

    def _optim(self, module: nn.Module, lr: float) -> torch.optim.Optimizer:
        if self.cfg.optimizer == "rmsprop":
            return torch.optim.RMSprop(module.parameters(), lr=lr)
        return torch.optim.Adam(module.parameters(), lr=lr, betas=(self.cfg.beta1, self.cfg.beta2))

    def _real(self) -> torch.Tensor:
        try:
            return next(self._it)
        except StopIteration:
            self._it = iter(self.loader)
            return next(self._it)

    def _gp(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        eps = torch.rand(real.size(0), 1, 1, 1)
        mix = (eps * real + (1 - eps) * fake).requires_grad_(True)
        out = self.D(mix)
        grad = torch.autograd.grad(out, mix, torch.ones_like(out), create_graph=True)[0]
        return ((grad.view(grad.size(0), -1).norm(2, dim=1) - 1) ** 2).mean()

    def step(self) -> None:
        """One generator step and its ``d_steps`` discriminator steps."""
        cfg = self.cfg
        for _ in range(cfg.d_steps):
            real = self._real()
            b = real.size(0)
            noise = torch.randn(b, cfg.z_dim)
            with self.autocast:
                fake = self.G(noise)
                if self.wasserstein:
                    loss_d = self.D(fake.detach()).mean() - self.D(real).mean()
                    loss_d = loss_d + cfg.penalty_weight * self._gp(real, fake.detach())
                else:
                    ones, zeros = torch.ones(b), torch.zeros(b)
                    loss_d = self.criterion(self.D(real).float(), ones) + self.criterion(
                        self.D(fake.detach()).float(), zeros
                    )
            self.opt_d.zero_grad()
            loss_d.backward()
            self.opt_d.step()
        with self.autocast:
            if self.wasserstein:  # the WGAN tutorials draw fresh fakes for G
                fake = self.G(torch.randn(b, cfg.z_dim))
                loss_g = -self.D(fake).mean()
            else:  # the DCGAN tutorial reuses the D step's fakes
                loss_g = self.criterion(self.D(fake).float(), torch.ones(b))
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        self.history.append((loss_d.item(), loss_g.item()))

    def images_per_step(self) -> int:
        return self.cfg.batch_size * self.cfg.d_steps

    def train_for(self, seconds: float) -> int:
        """Train until ``seconds`` of wall clock have passed; returns the steps done."""
        end, n = time.monotonic() + seconds, 0
        while time.monotonic() < end:
            self.step()
            n += 1
        return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="dcgan", choices=("gan", "dcgan", "wgan-gp"))
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    args = ap.parse_args()
    loop = ReferenceLoop(args.recipe, args.batch_size, precision=args.precision)
    for _ in range(3):
        loop.step()
    t = time.perf_counter()
    for _ in range(args.steps):
        loop.step()
    dt = time.perf_counter() - t
    ips = args.steps * loop.images_per_step() / dt
    print(f"reference {args.recipe}: {ips:.0f} images/s, {1000 * dt / args.steps:.1f} ms/step")


if __name__ == "__main__":
    main()
