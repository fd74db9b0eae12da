"""Inpainting with a context encoder (Pathak et al. 2016, arXiv:1604.07379).

A mask M (1 = hole) is drawn for every image (:mod:`ganforge.data.masks`); G sees the image with
its hole set to 0 (mid-grey) and M as an extra channel, and predicts the whole image x'. The
output keeps every known pixel and takes only the hole from G:

    y = M * x' + (1 - M) * x          (exactly x outside the hole)

Reconstruction (section 3.2.1): G also predicts the band of known pixels within ``b`` px of the
hole (the paper's 4 px overlap at 128 px, scaled to the image), and the loss there is weighted
``w_band`` = 10 to make the fill agree with its surroundings. The weight map is

    W = 1 on the hole,  w_band on the band (dilation of M by b, minus M),  0 elsewhere,

and L_rec = sum W rho(x' - x) / |R| is the weighted mean over the region R = hole + band
(rho = squared error as in the paper, or |.| with ``inpaint_rec_loss=l1``): no other pixel is
weighed. Adversarial (section 3.2.2): D judges the whole composited image y against real
images. We put D on the whole image rather than on the filled square because the hole may be
random blocks, a random region or a user's mask, which cannot be cut out as one square; and D
then also judges how the fill joins its context. With the loss ``cfg.loss`` (non-saturating,
the paper's) on logits:

    L_D = E[l(D(x), real)] + E[l(D(y), fake)]
    L_G = lambda_rec L_rec + lambda_adv L_adv,     lambda_rec = 0.999, lambda_adv = 0.001

Masks of step t are drawn from a generator seeded by (seed, t), so a resumed run draws the same
masks with no extra state (the same masks serve every D step of a G step when d_steps > 1).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.data.batches import Batches, to_unit_range
from ganforge.data.masks import draw_masks
from ganforge.errors import ConfigError, DataError
from ganforge.games.base import DStep, Game, Logs
from ganforge.losses import get_loss
from ganforge.models.context_encoder import ContextEncoder
from ganforge.models.dcgan import DCGANDiscriminator
from ganforge.models.layers import apply_spectral_norm

PAPER_OVERLAP, PAPER_SIZE = 4, 128  # the overlap band of the paper's code, at 128 px
GRID = 16  # images in the fixed sample grid


def _no_latents() -> ConfigError:
    return ConfigError(
        "an inpaint run fills holes in images and has no latent samples: use `ganforge "
        "translate RUN --input FILE|DIR --out DIR [--mask MASK.png]`"
    )


def overlap_px(size: int, overlap: int = 0) -> int:
    """Width of the overlap band: ``overlap``, or 0 -> round(4 S / 128), at least 1."""
    return overlap if overlap else max(1, round(PAPER_OVERLAP * size / PAPER_SIZE))


def weight_map(mask: torch.Tensor, band: int, band_weight: float) -> torch.Tensor:
    """W = 1 on the hole, ``band_weight`` on the pixels within ``band`` px (square
    neighbourhood) of it that are not in it, 0 elsewhere; (N, 1, S, S) like ``mask``."""
    ring = F.max_pool2d(mask, 2 * band + 1, 1, band) - mask if band else torch.zeros_like(mask)
    return mask + band_weight * ring


def reconstruction_loss(
    pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor, kind: str = "l2"
) -> torch.Tensor:
    """sum W rho(pred - target) / (C |R|), R = {W > 0}: the weighted mean over the region."""
    diff = pred - target
    rho = diff.square() if kind == "l2" else diff.abs()
    region = (weights > 0).sum() * pred.shape[1]
    return (weights * rho).sum() / region.clamp_min(1)


def composite(x: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """G's prediction inside the hole, ``x`` (bit for bit) everywhere else."""
    return torch.where(mask > 0.5, pred, x)


class InpaintGame(Game):
    """Fills holes of (C, S, S) images; batches are the plain images (uint8)."""

    def __init__(
        self, cfg, shape: tuple[int, ...], num_classes: int = 0, shard: tuple[int, int] = (0, 1)
    ):
        super().__init__(shard)
        if len(shape) != 3 or shape[1] != shape[2]:
            raise DataError(
                f"game=inpaint needs square images (C, S, S), got shape {tuple(shape)}; "
                "use --image-size"
            )
        self.cfg, self.data_shape = cfg, tuple(shape)
        self.c, self.size = shape[0], shape[1]
        self.band = overlap_px(self.size, cfg.inpaint_overlap)
        if 2 * self.band >= self.size:
            raise ConfigError(
                f"bad value {self.band} for 'inpaint_overlap': the band must be narrower than "
                f"half the {self.size}-px image"
            )
        self.G = ContextEncoder(self.c + 1, self.c, self.size, cfg.g_width, cfg.g_norm)
        d = DCGANDiscriminator(self.c, self.size, cfg.d_width, cfg.d_norm)
        self.D = apply_spectral_norm(d) if cfg.spectral_norm else d
        self.d_fn, self.g_fn = get_loss(cfg.loss)
        self._grid: dict[str, torch.Tensor] | None = None

    def make_batches(self, data, batch_size, seed, device, rank=0, world_size=1):
        if data.images.shape[1:] != self.data_shape:
            raise DataError(f"game=inpaint: {data.name} does not hold {self.data_shape} images")
        gen = torch.Generator().manual_seed(seed + 1)
        self._grid = {
            "x": data.images[:GRID].clone(),
            "mask": draw_masks(self.cfg.inpaint_mask, GRID, self.size, gen),
        }
        return Batches(data, batch_size, seed, device, rank, world_size)

    # -- the step -------------------------------------------------------------------------
    def _unit(self, images_u8: torch.Tensor) -> torch.Tensor:
        x = to_unit_range(images_u8)
        return x.contiguous(memory_format=torch.channels_last) if self.cfg.channels_last else x

    def step_masks(self, n: int, step: int, device: torch.device) -> torch.Tensor:
        """The masks of step ``step``: drawn for the global batch, this rank's slice."""
        rank, world = self.shard
        gen = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + step)
        masks = draw_masks(self.cfg.inpaint_mask, n * world, self.size, gen)
        return masks[rank * n : (rank + 1) * n].to(device)

    def g_input(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """(masked image with the hole at 0, mask) on channels: what G takes."""
        x, mask = inputs["x"], inputs["mask"]
        return torch.cat([x.masked_fill(mask > 0.5, 0.0), mask.to(x.dtype)], 1)

    def predict(self, G: nn.Module, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """G's whole-image prediction x' for images ``x`` in [-1, 1] with holes ``mask``."""
        return G(self.g_input({"x": x, "mask": mask}))

    def fill(self, x: torch.Tensor, mask: torch.Tensor, G: nn.Module | None = None) -> torch.Tensor:
        """The inpainted images: G's fill in the hole, ``x`` elsewhere."""
        mask = mask.to(x.device).expand(x.shape[0], -1, -1, -1)
        return composite(x, self.predict(G or self.G, x, mask), mask)

    def d_loss(self, batch: Any, step: int, keep_fakes: bool = True) -> DStep:
        x = self._unit(batch[0])
        mask = self.step_masks(x.shape[0], step, x.device)
        with torch.set_grad_enabled(keep_fakes and torch.is_grad_enabled()):
            pred = self.predict(self.G, x, mask)
        out = composite(x, pred, mask)
        r, f = self.D(x).flatten(), self.D(out.detach()).flatten()
        loss = self.d_fn(r, f, self.cfg.label_smoothing)
        logs = {"d_real": r.detach().mean(), "d_fake": f.detach().mean()}
        return DStep(loss, logs, (x, mask, pred, out) if keep_fakes else None)

    def g_loss(self, batch: Any, step: int, fakes: Any = None) -> tuple[torch.Tensor, Logs]:
        if fakes is None:
            x = self._unit(batch[0])
            mask = self.step_masks(x.shape[0], step, x.device)
            pred = self.predict(self.G, x, mask)
            fakes = (x, mask, pred, composite(x, pred, mask))
        x, mask, pred, out = fakes
        cfg = self.cfg
        weights = weight_map(mask, self.band, cfg.inpaint_overlap_weight)
        rec = reconstruction_loss(pred, x, weights, cfg.inpaint_rec_loss)
        adv = self.g_fn(self.D(out).flatten()) if cfg.inpaint_adv_weight else rec.new_zeros(())
        loss = cfg.inpaint_rec_weight * rec + cfg.inpaint_adv_weight * adv
        return loss, {"rec": rec.detach(), "g_adv": adv.detach()}

    # -- views ----------------------------------------------------------------------------
    def draw_inputs(self, n: int, device: Any, generator: Any = None) -> dict[str, torch.Tensor]:
        raise _no_latents()

    def fixed_inputs(self, n: int, seed: int, device="cpu", **kw: Any) -> dict[str, torch.Tensor]:
        if self._grid is None or kw.get("classes") or kw.get("codes"):
            raise _no_latents()
        return {k: v.to(device) for k, v in self._grid.items()}

    @torch.no_grad()
    def render(self, G: nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Rows of 8: masked inputs (hole mid-grey), filled outputs, originals."""
        x, mask = self._unit(inputs["x"]), inputs["mask"]
        out = self.fill(x, mask, G).float()
        masked = x.float().masked_fill(mask > 0.5, 0.0)
        rows = []
        for i in range(0, x.shape[0], 8):
            rows += [masked[i : i + 8], out[i : i + 8], x[i : i + 8].float()]
        return torch.cat(rows)

    def translates(self) -> bool:
        return True

    def default_masks(self, n: int) -> torch.Tensor:
        """Masks for ``ganforge translate`` without --mask: the run's kind, random ones drawn
        from seed 0 (the same for the same files)."""
        return draw_masks(self.cfg.inpaint_mask, n, self.size, torch.Generator().manual_seed(0))

    def translate(self, images: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """[-1, 1] images -> filled with the run's masks (:meth:`default_masks`)."""
        if direction != "AtoB":
            raise ConfigError("an inpaint run fills holes (one direction): drop --direction")
        return self.fill(images, self.default_masks(images.shape[0]).to(images.device))

    def describe(self) -> dict[str, Any]:
        return {"data_shape": list(self.data_shape), "num_classes": 0, "kind": "inpaint"}
