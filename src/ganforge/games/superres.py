"""Single-image super-resolution: SRResNet and SRGAN (Ledig et al. 2017, arXiv:1609.04802).

A batch holds high-resolution targets y (N, C, S, S) in [-1, 1]; the inputs are their bicubic
downscales x = down_r(y) (:func:`ganforge.data.superres.downscale`), G(x) has y's size.

- ``srresnet`` (the paper's MSE-optimised baseline and the pre-training of SRGAN):

      L_G = E[(G(x) - y)^2]                         (pixel MSE, on [-1, 1])

  It has no discriminator: D is a placeholder of one parameter whose loss is 0 * that
  parameter, so the loop's D step changes nothing and costs nothing.
- ``srgan``: the perceptual loss of the paper's eq. 3,

      L_G = l_content + adv_weight * l_adv           (adv_weight = 1e-3)
      l_content = E[(phi(G(x)) - phi(y))^2]          (content_loss=features)
                  or E[(G(x) - y)^2]                 (content_loss=mse: SRGAN-MSE)
      l_adv     = the G side of ``loss`` on D(G(x))  (non-saturating: -log D(G(x)))

  where phi is the last convolutional block's activation (before its pooling) of the shipped
  Fashion-MNIST classifier (:mod:`ganforge.metrics.extractor`) applied to the luminance:
  the analogue of the paper's VGG54, whose ImageNet weights cannot be had offline. The
  feature function is handed in by the training hook (:mod:`ganforge.superres_hooks`), since
  a game may not import metrics. D is the paper's (:class:`SRDiscriminator`) with BN.
- ``srgan`` with ``loss=wasserstein``: the WGAN-GP variant (Gulrajani et al. 2017,
  arXiv:1704.00028): critic without BatchNorm (d_norm=batch becomes none; layer/instance may be
  chosen), L_D = E[D(G(x))] - E[D(y)] + sr_gp_weight * GP, and l_adv = -E[D(G(x))].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.data.batches import Batches, to_unit_range
from ganforge.data.superres import bicubic_upscale, downscale, scale_of
from ganforge.errors import ConfigError, DataError, GanforgeError
from ganforge.games.base import DStep, Game, Logs
from ganforge.losses import get_loss
from ganforge.models.layers import apply_spectral_norm
from ganforge.models.srresnet import SRDiscriminator, SRResNet, upscale_steps
from ganforge.penalties import gradient_penalty

Features = Callable[[torch.Tensor], torch.Tensor]


def _refuse_latents(game: str) -> ConfigError:
    return ConfigError(
        f"a {game} run upscales images and has no latent samples: use `ganforge upscale RUN "
        "--input FILE|DIR --out DIR`"
    )


class _NoCritic(nn.Module):
    """SRResNet's stand-in for D: one parameter that nothing moves (its loss is 0 * it)."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.unused.expand(x.shape[0])


class SRResNetGame(Game):
    """Super-resolution by pixel MSE; the base of :class:`SRGANGame`."""

    kind = "srresnet"

    def __init__(
        self, cfg, shape: tuple[int, ...], num_classes: int = 0, shard: tuple[int, int] = (0, 1)
    ):
        super().__init__(shard)
        self.scale = scale_of(cfg.dataset)
        if not self.scale:
            raise DataError(
                f"game={cfg.game} needs a super-resolution dataset (fmnist-sr4, fmnist-sr2, "
                f"sr4:PATH or sr2:PATH), got {cfg.dataset}"
            )
        upscale_steps(self.scale)
        if len(shape) != 3 or shape[1] != shape[2] or shape[1] % self.scale:
            raise DataError(
                f"game={cfg.game} needs square images whose side divides by {self.scale}, "
                f"got shape {tuple(shape)}"
            )
        if cfg.arch != "srresnet":
            raise ConfigError(f"game={cfg.game} needs arch=srresnet (got arch={cfg.arch})")
        self.cfg, self.data_shape = cfg, tuple(shape)
        self.c, self.size = shape[0], shape[1]
        self.G = SRResNet(self.c, self.scale, cfg.g_width, cfg.sr_blocks, cfg.g_norm)
        self.D = self._critic()
        self._grid: torch.Tensor | None = None

    def _critic(self) -> nn.Module:
        return _NoCritic()

    def make_batches(self, data, batch_size, seed, device, rank=0, world_size=1):
        if tuple(data.images.shape[1:]) != self.data_shape:
            raise DataError(f"game={self.kind}: {data.name} has images of another shape")
        self._grid = data.images[:16].clone()
        return Batches(data, batch_size, seed, device, rank, world_size)

    def pair(self, hr_u8: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(low-resolution input, target), both in [-1, 1]."""
        y = to_unit_range(hr_u8)
        x = downscale(y, self.scale)
        if self.cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
            y = y.contiguous(memory_format=torch.channels_last)
        return x, y

    def d_loss(self, batch: Any, step: int, keep_fakes: bool = True) -> DStep:
        x, y = self.pair(batch[0])
        loss = self.D.unused.sum() * 0.0
        return DStep(loss, {}, (x, y, None) if keep_fakes else None)

    def g_loss(self, batch: Any, step: int, fakes: Any = None) -> tuple[torch.Tensor, Logs]:
        x, y = self.pair(batch[0]) if fakes is None else fakes[:2]
        mse = F.mse_loss(self.G(x), y)
        return mse, {"mse": mse.detach()}

    # -- views and use ----------------------------------------------------------------------
    def draw_inputs(self, n: int, device: Any, generator: Any = None) -> dict[str, torch.Tensor]:
        raise _refuse_latents(self.kind)

    def latent_spaces(self) -> tuple[str, ...]:
        return ()

    def prior_inputs(self, n: int, generator: torch.Generator) -> torch.Tensor:
        raise ConfigError(f"game={self.kind} takes images, not latents: ema needs g_norm=none")

    def fixed_inputs(self, n: int, seed: int, device="cpu", **kw: Any) -> dict[str, torch.Tensor]:
        if self._grid is None or kw.get("classes") or kw.get("codes"):
            raise _refuse_latents(self.kind)
        return {"x": self._grid.to(device)}

    @torch.no_grad()
    def render(self, G: nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Rows of 8: bicubic upscale of the input, G's output, the target."""
        x, y = self.pair(inputs["x"])
        out = G(x).float()
        bic = bicubic_upscale(x, self.scale)
        rows = []
        for i in range(0, x.shape[0], 8):
            rows += [bic[i : i + 8], out[i : i + 8], y[i : i + 8].float()]
        return torch.cat(rows)

    def upscale(self, images: torch.Tensor) -> torch.Tensor:
        """G applied to low-resolution ``images`` (N, C, h, w) in [-1, 1] of any side."""
        if images.dim() != 4 or images.shape[1] != self.c:
            raise GanforgeError(
                f"this run upscales {self.c}-channel images, got {tuple(images.shape[1:2])} "
                "channel(s)"
            )
        return self.G(images)

    def describe(self) -> dict[str, Any]:
        return {"data_shape": list(self.data_shape), "num_classes": 0, "kind": self.kind}


class SRGANGame(SRResNetGame):
    """SRResNet's G against the paper's D with the perceptual loss (module docstring)."""

    kind = "srgan"

    def __init__(self, cfg, shape, num_classes=0, shard=(0, 1)):
        super().__init__(cfg, shape, num_classes, shard)
        self.d_fn, self.g_fn = get_loss(cfg.loss)
        self.features: Features | None = None

    def _critic(self) -> nn.Module:
        norm = self.cfg.d_norm
        if self.cfg.loss == "wasserstein" and norm == "batch":
            norm = "none"  # BN mixes the samples a gradient penalty treats one by one
        d = SRDiscriminator(self.c, self.size, self.cfg.d_width, norm)
        return apply_spectral_norm(d) if self.cfg.spectral_norm else d

    def set_features(self, fn: Features) -> None:
        """The content loss's feature map phi (images in [-1, 1] -> activations)."""
        self.features = fn

    def content(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        if self.cfg.content_loss == "mse":
            return F.mse_loss(fake, real)
        if self.features is None:
            raise GanforgeError(
                "content_loss=features needs the feature function, set by ganforge's training "
                "hooks (api.train); use content_loss=mse outside them"
            )
        return F.mse_loss(self.features(fake), self.features(real).detach())

    def d_loss(self, batch: Any, step: int, keep_fakes: bool = True) -> DStep:
        x, y = self.pair(batch[0])
        with torch.set_grad_enabled(keep_fakes and torch.is_grad_enabled()):
            fake = self.G(x)
        r, f = self.D(y), self.D(fake.detach())
        loss = self.d_fn(r, f, self.cfg.label_smoothing)
        logs = {"d_real": r.detach().mean(), "d_fake": f.detach().mean()}
        if self.cfg.loss == "wasserstein":
            gp = gradient_penalty(self.D, y, fake.detach())
            loss = loss + self.cfg.sr_gp_weight * gp
            logs["gp"] = gp.detach()
        return DStep(loss, logs, (x, y, fake) if keep_fakes else None)

    def g_loss(self, batch: Any, step: int, fakes: Any = None) -> tuple[torch.Tensor, Logs]:
        if fakes is None:
            x, y = self.pair(batch[0])
            fakes = (x, y, self.G(x))
        _, y, fake = fakes
        content = self.content(fake, y)
        adv = self.g_fn(self.D(fake))
        total = content + self.cfg.adv_weight * adv
        return total, {"content": content.detach(), "g_adv": adv.detach()}
