"""The style-based GAN game (StyleGAN2 at small scale): Karras et al. 2019 (arXiv:1812.04948)
and 2020 (arXiv:1912.04958).

One training step, as the reference's ``StyleGAN2Loss``:

- G's fakes: z ~ N(0, I), w = f(z) broadcast to every layer; with probability
  ``style_mixing`` (0.9) per batch a second w2 = f(z2) replaces the styles from a crossover
  layer k ~ U{1..num_ws-1} on (style-mixing regularisation, StyleGAN sec. 3.1); fresh noise
  maps. Every training forward updates the tracked w_avg <- beta w_avg + (1 - beta) mean(w),
  beta = ``w_avg_beta`` (0.995).
- D: the adversarial loss on D(x) and D(G(z)) (non-saturating in the recipe), plus lazy R1
  every k = ``penalty_every`` steps (16): gamma/2 E||grad_x D(x)||^2 weighted by k, gamma =
  ``penalty_weight`` or, with ``r1_auto``, 0.0002 res^2 / batch (StyleGAN2-ADA's rule).
- G: the adversarial loss on D(G(z)), plus the optional path-length regulariser every
  ``g_penalty_every`` steps (``g_penalty=path_length``) on half the batch, differentiated with
  respect to the per-layer styles ws (the reference's pl_batch_shrink 2).
- The lazy regularisers' optimisers take lr * c and beta ** c, c = k/(k+1)
  (:meth:`StyleGame.lazy_ratio`).

Sampling: ``render`` maps z (and, when the inputs carry them, a mixing latent and a
truncation psi) to ws and synthesises with the fixed noise maps, so an image is a function of
its inputs; truncation moves w toward the rendering G's own ``w_avg`` (the EMA G's copy of it
when sampling the EMA G): w' = w_avg + psi (w - w_avg).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ganforge import penalties
from ganforge.config_style import r1_auto_gamma
from ganforge.data.batches import to_unit_range
from ganforge.errors import ConfigError, DataError
from ganforge.games.base import DStep, Game, Logs
from ganforge.losses import get_loss
from ganforge.models import build_discriminator, build_generator
from ganforge.models.canvas import canvas_for, pad_to_canvas
from ganforge.models.style import StyleLayer

Inputs = dict[str, torch.Tensor]


def style_groups(levels: int) -> dict[str, slice]:
    """Coarse / middle / fine slices of ws for a generator of resolution levels 4..4*2^(L-1).

    The StyleGAN paper's split is by resolution: coarse 4-8 px, middle 16-32 px, fine 64 px
    and up. It is kept as is where the generator reaches 64 px; below, the top resolution is
    the fine group (so every group is non-empty from 16 px: 32 px gives coarse 4-8, middle 16,
    fine 32). Level j owns ws entries 2j and 2j+1.
    """
    res = [4 * 2**j for j in range(levels)]
    fine_from = next((j for j, r in enumerate(res) if r >= 64), levels - 1)
    coarse_to = min(sum(r <= 8 for r in res), fine_from)
    return {
        "coarse": slice(0, 2 * coarse_to),
        "middle": slice(2 * coarse_to, 2 * fine_from),
        "fine": slice(2 * fine_from, 2 * levels),
    }


class StyleGame(penalties.PathLengthTarget, Game):
    """StyleGAN2-style G (mapping + synthesis) against the residual D; see the module doc."""

    def __init__(
        self, cfg, shape: tuple[int, ...], num_classes: int = 0, shard: tuple[int, int] = (0, 1)
    ):
        super().__init__(shard)
        size = shape[-1] if len(shape) == 3 else 0
        if len(shape) != 3 or shape[1] != size or size < 8:
            raise DataError(
                f"game=style needs square images of 8 px or more, got shape {tuple(shape)}; "
                "use --image-size 32"
            )
        self.cfg, self.data_shape = cfg, tuple(shape)
        # non-powers of two are padded to the canvas (Fashion-MNIST 28 -> 32), never resized
        self.canvas = canvas_for(size, size, who="stylegan")
        self.G = build_generator(cfg, cfg.z_dim, self.data_shape)
        self.D = build_discriminator(cfg, (shape[0], self.canvas, self.canvas))
        self.num_ws = self.G.num_ws
        self.d_fn, self.g_fn = get_loss(cfg.loss)
        self.d_penalty = penalties.D_PENALTIES.get(cfg.penalty)
        self.g_penalty = penalties.G_PENALTIES.get(cfg.g_penalty)
        auto = cfg.r1_auto and cfg.penalty == "r1"
        self.gamma = r1_auto_gamma(self.canvas, cfg.batch_size) if auto else cfg.penalty_weight
        self.pl_mean = torch.tensor(float("nan"))  # path length's running target a

    # -- what the trainer asks ------------------------------------------------------------
    num_classes = n_cat = n_cont = 0  # unconditional: export's latent convention is z alone

    def channels_last_ok(self) -> bool:
        return False

    def lazy_ratio(self, player: str) -> float:
        cfg = self.cfg
        if player == "D":
            on, k = self.d_penalty is not None and self.gamma > 0, cfg.penalty_every
        else:
            on, k = self.g_penalty is not None and cfg.g_penalty_weight > 0, cfg.g_penalty_every
        return k / (k + 1) if on and k > 1 else 1.0

    # -- G's inputs -----------------------------------------------------------------------
    def draw_inputs(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> Inputs:
        """{"z": z ~ N(0, I)}; in training under data parallelism, this rank's slice of the
        global batch's draw (as :class:`~ganforge.games.adversarial.AdversarialGame`)."""
        return {"z": self._randn(n, torch.device(device), generator)}

    def _randn(self, n: int, device: torch.device, generator: torch.Generator | None):
        rank, world = self.shard
        if generator is not None or world == 1:
            return torch.randn(n, self.cfg.z_dim, device=device, generator=generator)
        z = torch.randn(n * world, self.cfg.z_dim, device=device)
        return z[rank * n : (rank + 1) * n]

    def g_input(self, inputs: Inputs) -> torch.Tensor:
        return inputs["z"]

    def prior_inputs(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(n, self.cfg.z_dim, generator=generator)

    def fixed_inputs(
        self,
        n: int,
        seed: int,
        device: torch.device | str = "cpu",
        classes: list[int] | None = None,
        codes: dict[int, float] | None = None,
        grid: bool = False,
    ) -> Inputs:
        return self.unconditional_fixed_inputs("stylegan", n, seed, device, classes, codes)

    # -- the w space (the Game contract) ----------------------------------------------------
    def latent_spaces(self) -> tuple[str, ...]:
        return ("z", "w")

    def style_layers(self) -> dict[str, slice]:
        return style_groups(self.G.levels)

    def truncate(self, inputs: Inputs, value: float, generator: torch.Generator) -> Inputs:
        """``inputs`` marked with psi = ``value`` per sample (no randomness needed)."""
        if not math.isfinite(value):
            raise ConfigError(f"bad truncation {value}: psi must be a finite number, e.g. 0.7")
        z = inputs["z"]
        return {**inputs, "psi": torch.full((z.shape[0],), float(value), device=z.device)}

    def to_w(self, G: nn.Module, inputs: Inputs) -> torch.Tensor:
        """ws (B, num_ws, w_dim) of ``inputs`` under ``G``: f(z) broadcast; entries from
        ``mix_from`` (B,) on taken from f(``mix_z``) when given; then, with ``psi`` (B,),
        w_avg + psi (ws - w_avg) toward ``G.w_avg`` (torch.lerp: psi = 1 returns ws exactly,
        psi = 0 returns w_avg exactly)."""
        ws = G.broadcast(G.mapping(inputs["z"]))
        if "mix_z" in inputs:
            layer = torch.arange(self.num_ws, device=ws.device)
            take = (layer[None, :] >= inputs["mix_from"][:, None])[:, :, None]
            ws = torch.where(take, G.broadcast(G.mapping(inputs["mix_z"])), ws)
        if "psi" in inputs:
            psi = inputs["psi"].to(ws.dtype)[:, None, None]
            ws = torch.lerp(G.w_avg.to(ws.dtype).expand_as(ws), ws, psi)
        return ws

    def render_w(self, G: nn.Module, ws: torch.Tensor) -> torch.Tensor:
        """Differentiable in ``ws`` and the noise maps (projection optimises both); callers
        that only look wrap it in no_grad, as :meth:`render` does."""
        return G.crop(G.synthesis(ws, "const")).float().clamp(-1, 1)

    def noise_buffers(self, G: nn.Module) -> list[torch.Tensor]:
        """The constant noise map of every style layer: what sampling and projection use."""
        return [m.noise_const for m in G.modules() if isinstance(m, StyleLayer)]

    @torch.no_grad()
    def render(self, G: nn.Module, inputs: Inputs) -> torch.Tensor:
        return self.render_w(G, self.to_w(G, inputs))

    # -- training ---------------------------------------------------------------------------
    def _fakes(self, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Training fakes and their styles: style mixing with probability ``style_mixing``
        per batch (no host synchronisation: the crossover is chosen on the device), random
        noise; updates the tracked w average."""
        G, cfg = self.G, self.cfg
        w = G.mapping(self._randn(n, device, None))
        G.track_w_avg(w, cfg.w_avg_beta)
        ws = G.broadcast(w)
        if cfg.style_mixing > 0:
            w2 = G.mapping(self._randn(n, device, None))
            cut = torch.randint(1, self.num_ws, (), device=device)
            mixed = torch.rand((), device=device) < cfg.style_mixing
            cut = torch.where(mixed, cut, torch.full_like(cut, self.num_ws))
            take = (torch.arange(self.num_ws, device=device) >= cut)[None, :, None]
            ws = torch.where(take, G.broadcast(w2), ws)
        return G.synthesis(ws, "random"), ws

    def d_loss(self, batch: Any, step: int, keep_fakes: bool = True) -> DStep:
        real = pad_to_canvas(to_unit_range(batch[0]), self.canvas)
        with torch.set_grad_enabled(keep_fakes and torch.is_grad_enabled()):
            fake, ws = self._fakes(real.shape[0], real.device)
        r_out, f_out = self.D(real), self.D(fake.detach())
        loss = self.d_fn(r_out, f_out, self.cfg.label_smoothing)
        logs: Logs = {"d_real": r_out.detach().mean(), "d_fake": f_out.detach().mean()}
        k = self.cfg.penalty_every
        if self.d_penalty is not None and self.gamma and step % k == 0:
            # lazy regularisation: every k-th step, weighted by k (StyleGAN2, appendix B)
            value = self.d_penalty.fn(self.D, real, fake.detach())
            logs["penalty"] = value.detach()
            loss = loss + self.gamma * k * value
        return DStep(loss, logs, (fake, ws) if keep_fakes else None)

    def g_loss(self, batch: Any, step: int, fakes: Any = None) -> tuple[torch.Tensor, Logs]:
        if fakes is None:
            fakes = self._fakes(batch[0].shape[0], batch[0].device)
        fake, ws = fakes
        loss = self.g_fn(self.D(fake))
        logs: Logs = {}
        every = self.cfg.g_penalty_every
        if self.g_penalty is not None and self.cfg.g_penalty_weight and step % every == 0:
            m = max(1, ws.shape[0] // 2)  # the reference's pl_batch_shrink = 2
            value = self.g_regulariser(lambda w: self.G.synthesis(w, "random"), ws[:m])
            logs["g_penalty"] = value.detach()
            loss = loss + self.cfg.g_penalty_weight * every * value
        return loss, logs

    def describe(self) -> dict[str, Any]:
        return {
            "data_shape": list(self.data_shape),
            "num_classes": 0,
            "num_ws": self.num_ws,
            "r1_gamma": self.gamma,
        }
