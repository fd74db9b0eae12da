"""What a game is: two players (``G`` and ``D``) and what one step of each computes.

The trainer only knows this interface; it never branches on the GAN family.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from ganforge.data.batches import Batches
from ganforge.data.images import ImageData
from ganforge.errors import ConfigError

Logs = dict[str, torch.Tensor]


class DStep(NamedTuple):
    """One discriminator step's result: the loss, its logs, and the fakes a G step may reuse
    (None when the loop asked not to keep them)."""

    loss: torch.Tensor
    logs: Logs
    fakes: Any = None


class Game(nn.Module):
    """Base class. Subclasses set ``self.G`` and ``self.D`` (modules, possibly ModuleDicts).

    - ``d_loss(batch, step, keep_fakes)`` -> (loss, logs, fakes): one discriminator step's
      objective; ``fakes`` is what the G step may reuse (G's output with its graph, and the
      inputs that made it) when ``keep_fakes``, else None (and G's graph is not recorded).
    - ``g_loss(batch, step, fakes)`` -> (loss, logs): one generator step's objective; ``batch``
      is the real batch of the last D step (used by paired/unpaired games and to size the
      fakes); ``fakes`` is the last D step's, or None to draw new ones. Nothing passes between
      the two steps except through these arguments, so either may run alone, in any order.
    - ``after_d_step()``: projections after the D optimiser step (e.g. weight clipping).
    - ``draw_inputs(n, device, generator)`` -> dict: G's input drawn from its prior (z, and
      labels, codes, styles as the game has them); ``g_input(dict)`` -> the tensor G takes;
      ``fixed_inputs(n, seed)`` and ``render(G, dict)``: fixed sample sets and their images.
      Sampling, interpolation and export all go through these; a game whose G takes images
      (pix2pix, CycleGAN) refuses them with a one-line error.
    """

    G: nn.Module
    D: nn.Module

    def __init__(self, shard: tuple[int, int] = (0, 1)):
        super().__init__()
        # (rank, world size) under data-parallel training: a game that draws per-sample noise
        # may draw it for the global batch and keep its rank's slice, so W processes see
        # exactly the noise one process with the global batch would see.
        self.shard = shard

    def make_batches(
        self,
        data: ImageData,
        batch_size: int,
        seed: int,
        device: torch.device,
        rank: int = 0,
        world_size: int = 1,
    ) -> Any:
        return Batches(data, batch_size, seed, device, rank, world_size)

    def d_loss(self, batch: Any, step: int, keep_fakes: bool = True) -> DStep:
        raise NotImplementedError

    def g_loss(self, batch: Any, step: int, fakes: Any = None) -> tuple[torch.Tensor, Logs]:
        raise NotImplementedError

    def after_d_step(self) -> None:
        """Called after every discriminator update."""

    def bind_optimizers(self, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer) -> None:
        """The loop's optimisers, for a game whose step looks ahead with them (the unrolled
        GAN's G step simulates D's Adam updates); most games ignore them."""

    def grid_shape(self) -> tuple[int, int]:
        """(samples, per row) of the fixed sample grid: 64 in rows of 8 by default."""
        return 64, 8

    def channels_last_ok(self) -> bool:
        """Whether G and D work on (N, C, H, W) images that channels_last memory can hold."""
        return True

    def lr_scale(self, progress: float | None) -> float:
        """Factor on both base learning rates at ``progress`` (fraction of the budget done,
        None when the budget is open-ended); the trainer applies it before every step."""
        return 1.0

    def lazy_ratio(self, player: str) -> float:
        """c = k/(k+1) for a ``player`` ("G" or "D") whose regulariser runs lazily every k-th
        step (Karras et al. 2020, arXiv:1912.04958, appendix B): the trainer builds its
        optimiser with lr * c and Adam betas ** c, as the reference does; 1.0 (no change)
        for players regularised at every step or not at all."""
        return 1.0

    def draw_inputs(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """G's inputs for ``n`` samples from the prior, as a dict of tensors (batch first)."""
        raise ConfigError("this game's generator takes images, not latents")

    def latent_spaces(self) -> tuple[str, ...]:
        """The spaces sampling, interpolation, PPL and projection can work in: ("z",) for a
        generator of latents, ("z", "w") for a style-based one (its intermediate latent w),
        () for a generator of images from images."""
        return () if self.translates() else ("z",)

    def to_w(self, G: nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The per-layer styles (B, num_ws, w_dim) that ``G`` (the live or averaged generator)
        makes of ``inputs``: the mapping network's w broadcast to every layer, truncation
        applied if ``inputs`` carries it; style-based games only."""
        raise ConfigError("this run has no intermediate latent w: use the z space")

    def render_w(self, G: nn.Module, ws: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] that ``G``'s synthesis network makes of per-layer styles ``ws``
        (B, num_ws, w_dim); style-based games only. Differentiable in ``ws`` and in the
        :meth:`noise_buffers` (``ganforge project`` optimises through it): samplers call it
        under ``torch.no_grad``; it must not switch gradients off itself."""
        raise ConfigError("this run has no intermediate latent w: use the z space")

    def style_layers(self) -> dict[str, slice]:
        """Which entries of ``ws`` are the coarse, middle and fine styles (the StyleGAN paper's
        4-8 px, 16-32 px and 64 px+ resolutions, scaled to this generator); style-based only."""
        raise ConfigError("style mixing needs a style-based recipe (stylegan)")

    def noise_buffers(self, G: nn.Module) -> list[torch.Tensor]:
        """``G``'s constant per-layer noise maps (buffers its synthesis reads when it renders
        ``ws``), which projection optimises and regularises (the StyleGAN2 projector); []
        when G has none (projection then optimises the latent alone)."""
        return []

    def truncate(
        self, inputs: dict[str, torch.Tensor], value: float, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """``inputs`` (from :meth:`draw_inputs`/:meth:`fixed_inputs`) for truncated sampling at
        ``value``: a style-based game marks them so :meth:`render` moves w toward the tracked
        average by psi = ``value`` (Karras et al. 2019); BigGAN resamples the z entries whose
        magnitude exceeds the threshold ``value`` (Brock et al. 2019). Games without a
        truncation trick refuse it."""
        raise ConfigError(
            "truncation needs a recipe with a truncation trick (stylegan: toward the average w; "
            "biggan: resampled z); this run has none: drop --truncation"
        )

    def g_input(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The tensor G takes for the inputs ``inputs`` of :meth:`draw_inputs`."""
        raise ConfigError("this game's generator takes images, not latents")

    def fixed_inputs(self, n: int, seed: int, **kw: Any) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def unconditional_fixed_inputs(
        self, name: str, n: int, seed: int, device: torch.device | str, classes: Any, codes: Any
    ) -> dict[str, torch.Tensor]:
        """:meth:`fixed_inputs` of an unconditional game: z from its own RNG seeded by ``seed``
        alone (the same latents at every stage of training and growth); ``--class`` and
        ``--code`` are refused in one line naming the recipe ``name``."""
        if classes:
            raise ConfigError(f"--class needs a conditional run; {name} is unconditional")
        if codes:
            raise ConfigError("--code needs an InfoGAN run")
        inputs = self.draw_inputs(n, "cpu", torch.Generator().manual_seed(seed))
        return {k: v.to(device) for k, v in inputs.items()}

    def translates(self) -> bool:
        """Whether G maps images to images (:meth:`translate`), as pix2pix and CycleGAN do."""
        return False

    def translate(self, images: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """G applied to ``images`` (in [-1, 1]) in ``direction``; translation games only."""
        raise ConfigError("this game's generator takes latents, not images")

    def prior_inputs(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """G's input for ``n`` draws from the prior, on the CPU (EMA standing statistics)."""
        raise ConfigError(
            "this game's generator takes images, not latents: ema needs g_norm other than batch"
        )

    @torch.no_grad()
    def render(self, G: nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def extra_state(self) -> dict[str, Any]:
        """State outside G and D that a step depends on (e.g. an image pool); saved in every
        checkpoint so that a resumed run continues exactly."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`extra_state`."""

    def describe(self) -> dict[str, Any]:
        """Facts about the game saved with the run (shapes, classes, ...)."""
        return {}
