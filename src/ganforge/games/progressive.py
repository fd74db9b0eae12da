"""The progressive GAN's game (Karras et al. 2018, arXiv:1710.10196): growing G and D, WGAN-GP
with the epsilon-drift term, and real images faded in with G's output.

Growth (section 3 and the official ``TrainingSchedule``): training starts at 4x4; every
further resolution is first faded in over ``progan_phase_images`` real images shown to D
(alpha rising linearly from 0 to 1), then stabilised for as many (alpha = 1); 4x4 itself
trains for one such period. The stage is a pure function of the images D has seen,
step * batch_size * d_steps, so a resumed run is at exactly the stage and alpha of the run it
continues; the images count is also saved with every checkpoint (``extra_state``), so a loaded
run samples at the stage it reached.

Data that is not a power of two is padded (centred, with -1, the background of [-1, 1]) to
the next power of two, the canvas: Fashion-MNIST's 28x28 becomes 32x32, never resized. G works
on the canvas and its output is cropped back to the data's size for sampling and export.

D step: E[D(G(z))] - E[D(x)] + lambda E[(||grad D(x^)||_2 - 1)^2] + epsilon E[D(x)^2]
(``cfg.loss``, ``cfg.penalty`` with ``penalty_weight`` lambda = 10, ``progan_drift`` epsilon =
1e-3, the drift keeping D's outputs near 0; appendix A.1). G step: -E[D(G(z))].

At each phase boundary (a fade or a stabilisation begins) both optimisers' Adam moments are
reset, as the official code's ``reset_opt_for_new_lod`` (``progan_reset_adam``): the new
layers' gradients differ in scale from the moments gathered before them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from ganforge import penalties
from ganforge.data.batches import to_unit_range
from ganforge.errors import ConfigError
from ganforge.games.base import DStep, Game, Logs
from ganforge.losses import get_loss
from ganforge.models.canvas import canvas_for as _canvas_for
from ganforge.models.canvas import pad_to_canvas
from ganforge.models.progressive import (
    ProgressiveDiscriminator,
    ProgressiveGenerator,
    fade_reals,
)

Inputs = dict[str, torch.Tensor]
MAX_CANVAS = 1024


class Stage(NamedTuple):
    """Where growth stands after ``images`` real images: ``phase`` 0 is 4x4, then 2k - 1 the
    fade-in and 2k the stabilisation of level k (resolution 4 * 2^k)."""

    level: int
    alpha: float
    phase: int
    images: int

    @property
    def growth(self) -> float:
        """Levels grown, fractional during a fade: level - 1 + alpha (0 at 4x4); what the
        metrics log shows (averaged over its interval like every logged value)."""
        return float(self.level) if self.alpha == 1 else self.level - 1 + self.alpha


def stage_at(images: int, phase_images: int, levels: int) -> Stage:
    """The stage after ``images`` real images with ``phase_images`` per fade and per
    stabilisation, growing to ``levels`` (the canvas's level); stays at the top once there."""
    phase = min(images // phase_images, 2 * levels)
    if phase == 2 * levels:
        return Stage(levels, 1.0, phase, images)
    level = (phase + 1) // 2
    if phase % 2:  # a fade-in: alpha from 0 to 1 over the phase
        return Stage(level, (images - phase * phase_images) / phase_images, phase, images)
    return Stage(level, 1.0, phase, images)


def canvas_for(height: int, width: int) -> int:
    """The power of two (at least 8, one growth step) that holds an image of the data's size."""
    return _canvas_for(height, width, MAX_CANVAS, "progan")


class ProgressiveGame(Game):
    """ProGAN: growing G and D on the canvas; see the module docstring for the objective."""

    num_classes = n_cat = n_cont = 0  # unconditional: export's latent convention is z alone

    def __init__(
        self,
        cfg,
        data_shape: tuple[int, ...],
        num_classes: int = 0,
        shard: tuple[int, int] = (0, 1),
    ):
        super().__init__(shard)
        if len(data_shape) != 3:
            raise ConfigError(
                f"progan grows images; this data has samples of shape {tuple(data_shape)}"
            )
        per_rank = cfg.batch_size // shard[1]
        if per_rank % min(cfg.progan_mbstd_group, per_rank):
            raise ConfigError(
                f"bad value {cfg.batch_size} for 'batch_size': the minibatch standard deviation "
                f"takes groups of {cfg.progan_mbstd_group} samples; use a multiple of it"
            )
        self.cfg = cfg
        self.data_shape = tuple(data_shape)
        c, h, w = self.data_shape
        self.canvas = canvas_for(h, w)
        self.G = ProgressiveGenerator(cfg.z_dim, c, self.canvas, cfg.g_width, (h, w))
        self.D = ProgressiveDiscriminator(c, self.canvas, cfg.d_width, cfg.progan_mbstd_group)
        self.levels = self.G.levels
        self.d_fn, self.g_fn = get_loss(cfg.loss)
        self.d_penalty = penalties.D_PENALTIES.get(cfg.penalty)
        self.optimizers: tuple[torch.optim.Optimizer, ...] = ()
        self._reset_at = -1  # the step whose phase boundary has had its Adam reset
        self.stage = self._stage(0)
        self._go_to(self.stage)

    # -- growth ---------------------------------------------------------------------------
    def images_before(self, step: int) -> int:
        """Real images D has seen before ``step`` (global batch, every D step)."""
        return step * self.cfg.batch_size * self.cfg.d_steps

    def _stage(self, images: int) -> Stage:
        return stage_at(images, self.cfg.progan_phase_images, self.levels)

    def _go_to(self, stage: Stage) -> None:
        self.stage = stage
        self.G.set_stage(stage.level, stage.alpha)
        self.D.set_stage(stage.level, stage.alpha)

    def bind_optimizers(self, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer) -> None:
        self.optimizers = (opt_g, opt_d)

    def enter(self, step: int) -> Stage:
        """Set G and D to ``step``'s stage; at a phase boundary (once per step) clear Adam's
        moments when ``progan_reset_adam``. Returns the stage."""
        stage = self._stage(self.images_before(step))
        boundary = step > 0 and stage.phase != self._stage(self.images_before(step - 1)).phase
        if boundary and step != self._reset_at and self.cfg.progan_reset_adam:
            for opt in self.optimizers:
                opt.state.clear()  # Adam starts over: zero moments, step count 0
            self._reset_at = step
        self._go_to(stage)
        return stage

    # -- the generator's input --------------------------------------------------------------
    def draw_inputs(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> Inputs:
        """{"z": z ~ N(0, I)}; in training under data parallelism, this rank's slice of the
        global batch's draw (see ``Game.shard``)."""
        device = torch.device(device)
        rank, world = self.shard
        if generator is not None or world == 1:
            return {"z": torch.randn(n, self.cfg.z_dim, device=device, generator=generator)}
        z = torch.randn(n * world, self.cfg.z_dim, device=device)
        return {"z": z[rank * n : (rank + 1) * n]}

    def g_input(self, inputs: Inputs) -> torch.Tensor:
        return inputs["z"]

    def fixed_inputs(
        self,
        n: int,
        seed: int,
        device: torch.device | str = "cpu",
        classes: list[int] | None = None,
        codes: dict[int, float] | None = None,
        grid: bool = False,
    ) -> Inputs:
        """z from its own RNG seeded by ``seed`` alone, so a fixed grid shows the same latents
        at every stage of growth."""
        return self.unconditional_fixed_inputs("progan", n, seed, device, classes, codes)

    def prior_inputs(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.draw_inputs(n, "cpu", generator)["z"]

    @torch.no_grad()
    def render(self, G: nn.Module, inputs: Inputs) -> torch.Tensor:
        """Images of the data's size at the current stage: G's resolution upsampled (nearest),
        so grids and the timelapse show the growth. ``G`` (live or averaged) is set to the
        game's stage first."""
        G.set_stage(self.stage.level, self.stage.alpha)
        return G(inputs["z"]).float()

    # -- the two steps --------------------------------------------------------------------
    def reals(self, batch: Any) -> torch.Tensor:
        """The real batch as D sees it now: [-1, 1], padded to the canvas, faded in."""
        x = batch[0]
        x = x.float() if x.is_floating_point() else to_unit_range(x)
        return fade_reals(pad_to_canvas(x, self.canvas), self.stage.level, self.stage.alpha)

    def d_loss(self, batch: Any, step: int, keep_fakes: bool = True) -> DStep:
        self.enter(step)
        real = self.reals(batch)
        inputs = self.draw_inputs(real.shape[0], real.device)
        with torch.set_grad_enabled(keep_fakes and torch.is_grad_enabled()):
            fake = self.G.canvas(inputs["z"])
        # separate passes: the minibatch stddev must not group real with fake samples
        r_out, f_out = self.D(real), self.D(fake.detach())
        loss = self.d_fn(r_out, f_out, self.cfg.label_smoothing)
        drift = r_out.pow(2).mean()
        logs: Logs = {
            "d_real": r_out.detach().mean(),
            "d_fake": f_out.detach().mean(),
            "drift": drift.detach(),
            "alpha": torch.tensor(self.stage.alpha, device=real.device),
            "growth": torch.tensor(self.stage.growth, device=real.device),
        }
        loss = loss + self.cfg.progan_drift * drift
        if self.d_penalty is not None and self.cfg.penalty_weight:
            value = self.d_penalty.fn(self.D, real, fake.detach())
            logs["penalty"] = value.detach()
            loss = loss + self.cfg.penalty_weight * value
        return DStep(loss, logs, (fake, inputs) if keep_fakes else None)

    def g_loss(self, batch: Any, step: int, fakes: Any = None) -> tuple[torch.Tensor, Logs]:
        self.enter(step)
        if fakes is None:
            inputs = self.draw_inputs(batch[0].shape[0], batch[0].device)
            fakes = (self.G.canvas(inputs["z"]), inputs)
        return self.g_fn(self.D(fakes[0])), {}

    # -- state ------------------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        s = self.stage
        return {"images": s.images, "level": s.level, "alpha": s.alpha, "phase": s.phase}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if "images" in state:
            self._go_to(self._stage(int(state["images"])))

    def channels_last_ok(self) -> bool:
        return False

    def describe(self) -> dict[str, Any]:
        return {"data_shape": list(self.data_shape), "canvas": self.canvas}
