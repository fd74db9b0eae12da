"""CycleGAN: unpaired translation with cycle consistency (Zhu et al. 2017, arXiv:1703.10593).

Two generators G: X -> Y and F: Y -> X and two discriminators D_X, D_Y, with the least-squares
adversarial loss (Mao et al. 2017) of the paper (section 4):

    L_D_Y = 1/2 E[(D_Y(y) - 1)^2] + 1/2 E[D_Y(G(x))^2]    (same for D_X with F, x)
    L_GAN(G) = E[(D_Y(G(x)) - 1)^2]          (no 1/2: only D's loss is halved, as in the
                                              reference code's MSE against 1)
    L_cyc = E[|F(G(x)) - x|_1] + E[|G(F(y)) - y|_1]                              (eq. 2)
    L_idt = E[|G(y) - y|_1] + E[|F(x) - x|_1]                                 (section 5.2)
    L_G,F = L_GAN(G) + L_GAN(F) + lambda L_cyc + mu lambda L_idt

with lambda = ``cycle_weight`` (10) and mu = ``identity_weight`` (0.5). D's fakes come through
an :class:`~ganforge.games.translation.ImagePool` of ``pool_size`` (50) past images, and the
learning rate decays linearly to 0 after ``lr_decay_start`` (half) of the run.

The generators are the paper's ResNet generator (``arch=resnet``: 6 residual blocks below
256 px, 9 from 256 px) or the pix2pix U-Net without dropout (``arch=unet``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.data.batches import to_unit_range
from ganforge.errors import ConfigError, DataError
from ganforge.games.base import DStep, Game, Logs
from ganforge.games.translation import ImagePool, UnpairedBatches, grid_source, no_latents
from ganforge.losses import get_loss
from ganforge.models.patchgan import PatchDiscriminator, patch_layers_for
from ganforge.models.resnet_translator import ResnetTranslator
from ganforge.models.unet import UNetGenerator


def cycle_loss(g_xy: nn.Module, g_yx: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """E|F(G(x)) - x| + E|G(F(y)) - y| (Zhu et al. 2017, eq. 2)."""
    return F.l1_loss(g_yx(g_xy(x)), x) + F.l1_loss(g_xy(g_yx(y)), y)


def least_squares_g_full(fake: torch.Tensor) -> torch.Tensor:
    """CycleGAN's generator term E[(D(G(x)) - 1)^2]. LSGAN's own G loss carries a 1/2; Zhu et
    al. do not, and with it the adversarial term would weigh half, i.e. the effective cycle and
    identity weights would be 20 and 10 instead of 10 and 5."""
    return ((fake - 1.0) ** 2).mean()


def linear_decay(progress: float, start: float) -> float:
    """1 until ``start`` of the run, then linearly to 0 at its end (CycleGAN's schedule)."""
    if progress <= start or start >= 1:
        return 1.0
    return max(0.0, (1.0 - progress) / (1.0 - start))


def translator(cfg, channels: int, size: int) -> nn.Module:
    """arch=resnet: the paper's ResNet generator (6 blocks below 256 px, 9 from 256 px);
    arch=unet: the pix2pix U-Net without dropout."""
    if cfg.arch == "resnet":
        if size % 4:
            raise ConfigError(f"arch=resnet needs an image side divisible by 4, got {size}")
        blocks = 9 if size >= 256 else 6
        return ResnetTranslator(channels, channels, cfg.g_width, cfg.g_norm, blocks)
    return UNetGenerator(channels, channels, size, cfg.g_width, cfg.g_norm, dropout=0.0)


def discriminator_layers(size: int) -> int:
    """PatchGAN depth: the 70x70 patch from 128 px; at least 2 layers (a 34x34 field, the whole
    object at 28/32 px) because sneaker <-> boot changes shape, which a 16x16 patch cannot see."""
    return max(2, patch_layers_for(size))


class CycleGANGame(Game):
    """Unpaired translation between domains A (X) and B (Y); batches are (A uint8, B uint8)."""

    def __init__(
        self, cfg, shape: tuple[int, ...], num_classes: int = 0, shard: tuple[int, int] = (0, 1)
    ):
        super().__init__(shard)
        if len(shape) != 3 or shape[1] != shape[2]:
            raise DataError(f"game=cyclegan needs square images (C, S, S), got {tuple(shape)}")
        if cfg.arch not in ("unet", "resnet"):
            raise ConfigError(f"game=cyclegan needs arch=resnet or unet (got arch={cfg.arch})")
        self.cfg, self.data_shape = cfg, tuple(shape)
        c, s = shape[0], shape[1]
        self.G = nn.ModuleDict({"AB": translator(cfg, c, s), "BA": translator(cfg, c, s)})
        n = discriminator_layers(s)
        self.D = nn.ModuleDict(
            {k: PatchDiscriminator(c, cfg.d_width, n, cfg.d_norm) for k in ("A", "B")}
        )
        if cfg.spectral_norm:
            from ganforge.models.layers import apply_spectral_norm

            apply_spectral_norm(self.D)
        self.d_fn, self.g_fn = get_loss(cfg.loss)
        if cfg.loss == "least-squares":
            self.g_fn = least_squares_g_full
        self.pool_a = ImagePool(cfg.pool_size, cfg.seed * 2 + 1)
        self.pool_b = ImagePool(cfg.pool_size, cfg.seed * 2 + 2)
        self._grid: dict[str, torch.Tensor] | None = None

    def make_batches(self, data, batch_size, seed, device, rank=0, world_size=1):
        batches = UnpairedBatches(data, batch_size, seed, device, rank, world_size)
        self._grid = grid_source(data)
        return batches

    def _unit(self, u8: torch.Tensor) -> torch.Tensor:
        x = to_unit_range(u8)
        return x.contiguous(memory_format=torch.channels_last) if self.cfg.channels_last else x

    def lr_scale(self, progress: float | None) -> float:
        return 1.0 if progress is None else linear_decay(progress, self.cfg.lr_decay_start)

    def d_loss(self, batch: Any, step: int, keep_fakes: bool = True) -> DStep:
        a, b = self._unit(batch[0]), self._unit(batch[1])
        with torch.set_grad_enabled(keep_fakes and torch.is_grad_enabled()):
            fake_b, fake_a = self.G["AB"](a), self.G["BA"](b)
        rb, fb = self.D["B"](b).flatten(), self.D["B"](self.pool_b.query(fake_b)).flatten()
        ra, fa = self.D["A"](a).flatten(), self.D["A"](self.pool_a.query(fake_a)).flatten()
        s = self.cfg.label_smoothing
        loss_b, loss_a = self.d_fn(rb, fb, s), self.d_fn(ra, fa, s)
        logs = {"d_a": loss_a.detach(), "d_b": loss_b.detach()}
        return DStep(loss_a + loss_b, logs, (a, b, fake_a, fake_b) if keep_fakes else None)

    def g_loss(self, batch: Any, step: int, fakes: Any = None) -> tuple[torch.Tensor, Logs]:
        if fakes is None:
            a, b = self._unit(batch[0]), self._unit(batch[1])
            fakes = (a, b, self.G["BA"](b), self.G["AB"](a))
        a, b, fake_a, fake_b = fakes
        adv = self.g_fn(self.D["B"](fake_b).flatten()) + self.g_fn(self.D["A"](fake_a).flatten())
        cyc = F.l1_loss(self.G["BA"](fake_b), a) + F.l1_loss(self.G["AB"](fake_a), b)
        loss = adv + self.cfg.cycle_weight * cyc
        logs: Logs = {"g_adv": adv.detach(), "cycle": cyc.detach()}
        mu = self.cfg.identity_weight * self.cfg.cycle_weight
        if mu:
            idt = F.l1_loss(self.G["AB"](b), b) + F.l1_loss(self.G["BA"](a), a)
            loss = loss + mu * idt
            logs["identity"] = idt.detach()
        return loss, logs

    def extra_state(self) -> dict[str, Any]:
        return {"pool_a": self.pool_a.state_dict(), "pool_b": self.pool_b.state_dict()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.pool_a.load_state_dict(state["pool_a"], self.cfg.channels_last)
        self.pool_b.load_state_dict(state["pool_b"], self.cfg.channels_last)

    # -- views ----------------------------------------------------------------------------
    def draw_inputs(self, n: int, device: Any, generator: Any = None) -> dict[str, torch.Tensor]:
        raise no_latents("cyclegan")

    def fixed_inputs(self, n: int, seed: int, device="cpu", **kw: Any) -> dict[str, torch.Tensor]:
        if self._grid is None or kw.get("classes") or kw.get("codes"):
            raise no_latents("cyclegan")
        return {k: v[:8].to(device) for k, v in self._grid.items()}

    @torch.no_grad()
    def render(self, G: nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Rows of 8: A, G(A), F(G(A)), B, F(B), G(F(B))."""
        a, b = self._unit(inputs["x"]), self._unit(inputs["y"])
        ab, ba = G["AB"](a), G["BA"](b)
        rows = [a, ab, G["BA"](ab), b, ba, G["AB"](ba)]
        return torch.cat([r.float() for r in rows])

    def translates(self) -> bool:
        return True

    def translate(self, images: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """[-1, 1] images -> G(images) (AtoB) or F(images) (BtoA)."""
        if direction not in ("AtoB", "BtoA"):
            raise ConfigError(f"bad direction {direction!r}: use AtoB or BtoA")
        return self.G["AB" if direction == "AtoB" else "BA"](images)

    def describe(self) -> dict[str, Any]:
        return {"data_shape": list(self.data_shape), "num_classes": 0, "kind": "unpaired"}
