"""pix2pix: conditional GAN for paired image-to-image translation (Isola et al. 2017,
arXiv:1611.07004).

G maps an input image x (domain A) to y' = G(x) (domain B); D sees (x, y) pairs concatenated on
channels and answers, per patch, whether y is the real partner of x. With the paper's
non-saturating loss (on logits, see :mod:`ganforge.losses`):

    L_D = 1/2 (E[-log D(x, y)] + E[-log(1 - D(x, G(x)))])      (halved, as in the paper)
    L_G = E[-log D(x, G(x))] + lambda E[|y - G(x)|_1],            lambda = ``l1_weight`` (100)

Noise enters only as dropout in G's decoder (section 3.1). The G is a U-Net
(:mod:`ganforge.models.unet`), D a PatchGAN (:mod:`ganforge.models.patchgan`).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.data.batches import Batches, to_unit_range
from ganforge.errors import ConfigError, DataError
from ganforge.games.base import DStep, Game, Logs
from ganforge.games.translation import grid_source, no_latents
from ganforge.losses import get_loss
from ganforge.models import build_discriminator, build_generator


class Pix2PixGame(Game):
    """Paired translation A -> B. Batches are (N, 2C, S, S) uint8: A = first C, B = last C."""

    def __init__(
        self, cfg, shape: tuple[int, ...], num_classes: int = 0, shard: tuple[int, int] = (0, 1)
    ):
        super().__init__(shard)
        if len(shape) != 3 or shape[0] % 2 or shape[1] != shape[2]:
            raise DataError(
                f"game=pix2pix needs paired square images (2C, S, S), got shape {tuple(shape)}; "
                "use a paired dataset (paired:PATH or fmnist-edges2items)"
            )
        if cfg.arch != "unet":
            raise ConfigError(f"game=pix2pix needs arch=unet (got arch={cfg.arch})")
        self.cfg, self.data_shape = cfg, tuple(shape)
        self.c, self.size = shape[0] // 2, shape[1]
        img = (self.c, self.size, self.size)
        self.G = build_generator(cfg, self.c, img)
        self.D = build_discriminator(cfg, (2 * self.c, self.size, self.size))
        self.d_fn, self.g_fn = get_loss(cfg.loss)
        self._grid: dict[str, torch.Tensor] | None = None

    def make_batches(self, data, batch_size, seed, device, rank=0, world_size=1):
        if data.images.shape[1] != 2 * self.c:
            raise DataError(f"game=pix2pix needs paired data, got {data.name}")
        self._grid = grid_source(data)
        return Batches(data, batch_size, seed, device, rank, world_size)

    def split(self, pairs_u8: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = to_unit_range(pairs_u8)
        if self.cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x[:, : self.c], x[:, self.c :]

    def d_loss(self, batch: Any, step: int, keep_fakes: bool = True) -> DStep:
        a, b = self.split(batch[0])
        with torch.set_grad_enabled(keep_fakes and torch.is_grad_enabled()):
            fake = self.G(a)
        r = self.D(torch.cat([a, b], 1)).flatten()
        f = self.D(torch.cat([a, fake.detach()], 1)).flatten()
        loss = 0.5 * self.d_fn(r, f, self.cfg.label_smoothing)
        logs = {"d_real": r.detach().mean(), "d_fake": f.detach().mean()}
        return DStep(loss, logs, (a, b, fake) if keep_fakes else None)

    def g_loss(self, batch: Any, step: int, fakes: Any = None) -> tuple[torch.Tensor, Logs]:
        if fakes is None:
            a, b = self.split(batch[0])
            fakes = (a, b, self.G(a))
        a, b, fake = fakes
        adv = self.g_fn(self.D(torch.cat([a, fake], 1)).flatten())
        l1 = F.l1_loss(fake, b)
        return adv + self.cfg.l1_weight * l1, {"g_adv": adv.detach(), "l1": l1.detach()}

    # -- views ----------------------------------------------------------------------------
    def draw_inputs(self, n: int, device: Any, generator: Any = None) -> dict[str, torch.Tensor]:
        raise no_latents("pix2pix")

    def fixed_inputs(self, n: int, seed: int, device="cpu", **kw: Any) -> dict[str, torch.Tensor]:
        if self._grid is None or kw.get("classes") or kw.get("codes"):
            raise no_latents("pix2pix")
        return {"x": self._grid["x"].to(device)}

    @torch.no_grad()
    def render(self, G: nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Rows of 8: inputs A, outputs G(A), targets B (twice for 16 pairs)."""
        a, b = self.split(inputs["x"])
        out = G(a).float()
        rows = []
        for i in range(0, a.shape[0], 8):
            rows += [a[i : i + 8].float(), out[i : i + 8], b[i : i + 8].float()]
        return torch.cat(rows)

    def translates(self) -> bool:
        return True

    def translate(self, images: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """[-1, 1] images of domain A -> G(A) (pix2pix learns one direction only)."""
        if direction != "AtoB":
            raise ConfigError("a pix2pix run translates A to B only: use --direction AtoB")
        return self.G(images)

    def describe(self) -> dict[str, Any]:
        return {"data_shape": list(self.data_shape), "num_classes": 0, "kind": "paired"}
