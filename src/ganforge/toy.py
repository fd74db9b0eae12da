"""The toy mode-collapse benchmark: train a recipe on ring8/grid25 and count the modes it covers.

Training uses the same :class:`~ganforge.games.adversarial.AdversarialGame` (losses, penalties,
packing, unrolling, conditioning), the same recipes, the same optimiser factory and the same
:class:`~ganforge.training.loop.Loop` as ``ganforge train``, without a run folder (no
checkpoints, grids or logs) and with two toy hooks (a linear LR decay and snapshots); the data
are fresh samples of the mixture for every batch. Metrics follow VEEGAN/PacGAN
(:mod:`ganforge.metrics.toy`) on 2,500 samples drawn from G in eval mode.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganforge.config import Config
from ganforge.data.toy import ToyBatches, ToyMixture, get_toy
from ganforge.errors import ConfigError
from ganforge.games.adversarial import LABEL_CONDITIONING, AdversarialGame
from ganforge.metrics.toy import NUM_SAMPLES, mean_se, mode_metrics
from ganforge.models.toy import ToyDiscriminator
from ganforge.recipes import RECIPES, get_recipe
from ganforge.rejection import fit_ratio_classifier, rejection_sample
from ganforge.training.ema import EMA
from ganforge.training.hook import Hook
from ganforge.training.loop import Loop
from ganforge.training.threads import apply_threads
from ganforge.training.trainer import make_optimizer

# Applied over every recipe on the toys: the benchmark MLPs, 2-D latents, fresh batches.
TOY_BASE: dict[str, Any] = {
    "arch": "toy",
    "g_width": 128,
    "d_width": 128,
    "z_dim": 2,
    "batch_size": 256,
    "channels_last": False,
    "device": "cpu",
}
# The recipe `ganforge toy` uses when none is named, and its default budget (generator steps).
BEST_RECIPE = {"ring8": "gan", "grid25": "gan"}
DEFAULT_STEPS = 3000
# ...with these settings when no recipe is named (docs/bench/toy.md, 10 seeds each): the plain
# `gan` recipe, then discriminator rejection sampling with a classifier fitted to the final G
# (1,000 steps on ring8, 2,000 on grid25), its Fourier features at the scale of the data's
# detail (σ = 0.01 on ring8, 0.05 on grid25).
BEST_SETTINGS: dict[str, dict[str, Any]] = {
    "ring8": {"rejection": "drs", "drs_calibration": 1000, "drs_fourier": 8.0},
    "grid25": {"rejection": "drs", "drs_calibration": 2000, "drs_fourier": 3.0},
}
BEST_STEPS = {"ring8": 4000, "grid25": 4000}
METRIC_KEYS = ("modes", "high_quality", "reverse_kl")


def toy_recipes() -> list[str]:
    """Recipes that make sense on 2-D points: one G and one D without labels (not the
    class-conditional ones, not the image-to-image games pix2pix and CycleGAN)."""
    return [
        n
        for n, r in RECIPES.items()
        if r.overrides.get("conditioning") not in LABEL_CONDITIONING
        and r.overrides.get("game", "adversarial") == "adversarial"
    ]


def toy_config(recipe: str, dataset: str, **overrides: Any) -> Config:
    """The recipe's config with :data:`TOY_BASE` over it and then the user's overrides."""
    r = get_recipe(recipe)
    if r.overrides.get("conditioning") in LABEL_CONDITIONING:
        raise ConfigError(
            f"recipe {recipe!r} is class-conditional and the toy data have no labels; "
            f"choose from {', '.join(toy_recipes())}"
        )
    if r.overrides.get("game", "adversarial") != "adversarial":
        raise ConfigError(
            f"recipe {recipe!r} translates images and the toy data are 2-D points; "
            f"choose from {', '.join(toy_recipes())}"
        )
    return r.config(**{**TOY_BASE, "dataset": dataset, **overrides})


@dataclass
class ToyRun:
    """One trained toy GAN: final metrics, samples and the snapshots taken during training."""

    cfg: Config
    mixture: ToyMixture
    game: AdversarialGame
    metrics: dict[str, float]
    samples: torch.Tensor
    seconds: float  # wall-clock seconds of training and sampling the 2,500 scored samples
    cpu_seconds: float  # CPU time of this process for the same (≈ wall time on an idle core)
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    # with rejection=drs: {"generator": G's own metrics, "acceptance": fraction accepted}
    extra: dict[str, Any] = field(default_factory=dict)


@torch.no_grad()
def generate(game: AdversarialGame, n: int, seed: int, G: torch.nn.Module | None = None):
    """n samples of G (default: the game's live G; else e.g. its EMA) in eval mode (BatchNorm
    running statistics) from a fixed latent seed."""
    G = game.G if G is None else G
    was = G.training
    G.eval()
    inputs = game.fixed_inputs(n, seed)
    x = game.render(G, inputs).reshape(n, -1)
    G.train(was)
    return x


class _ToyStream:
    """The toy data as the loop's batches: fresh samples for every batch, so there are no
    epochs and no position to save."""

    epochs_done = 0.0
    per_epoch = 0

    def __init__(self, batches: ToyBatches):
        self.batches = batches

    def __iter__(self):
        return self

    def __next__(self) -> tuple[torch.Tensor, None]:
        return next(self.batches)

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Nothing to restore: every batch is a fresh draw."""


class LinearDecay(Hook):
    """The toy's LR schedule, the same for every recipe: constant, then linear to 0 from
    ``lr_decay_start`` × steps (the factor of step i+1 is that of LambdaLR at epoch i)."""

    def __init__(self, cfg: Config):
        self.steps, self.decay_from = cfg.steps, min(cfg.lr_decay_start, 1.0) * cfg.steps

    def factor(self, done: int) -> float:
        if done < self.decay_from:
            return 1.0
        return max(0.0, (self.steps - done) / max(self.steps - self.decay_from, 1.0))

    def before_step(self, loop: Loop, step: int) -> None:
        scale = self.factor(step)
        for opt, base in ((loop.opt_g, loop.cfg.lr_g), (loop.opt_d, loop.cfg.lr_d)):
            for group in opt.param_groups:
                group["lr"] = base * scale


class Snapshots(Hook):
    """500 samples of the sampler at the start and at ``n`` evenly spaced steps."""

    def __init__(self, cfg: Config, n: int):
        self.seed, self.n = cfg.seed, n
        self.at = {round(cfg.steps * (i + 1) / n) for i in range(n)} if n else set()
        self.shots: list[tuple[int, torch.Tensor]] = []

    def on_start(self, loop: Loop) -> None:
        if self.n:
            self.shots.append((0, generate(loop.game, 500, self.seed, loop.sampler())))

    def on_step(self, loop: Loop, step: int) -> None:
        if step in self.at:
            self.shots.append((step, generate(loop.game, 500, self.seed, loop.sampler())))


def train_toy(cfg: Config, snapshots: int = 0) -> ToyRun:
    """Train ``cfg`` (dataset ring8/grid25, budget ``cfg.steps``) with the training loop and
    measure mode coverage. ``precision=auto`` is fp32 here: 2-D MLPs are too small for bf16 to
    save time, and toy figures are compared across machines."""
    if cfg.precision == "auto":
        cfg = dataclasses.replace(cfg, precision="fp32")
    mixture = get_toy(cfg.dataset)
    if cfg.steps < 1:
        raise ConfigError("the toy benchmark needs a step budget: --steps N with N >= 1")
    apply_threads(cfg)  # silently: a toy run is one of many (lab, toy table)
    torch.manual_seed(cfg.seed)
    game = AdversarialGame(cfg, (2,))
    opt_g = make_optimizer(cfg, game.G.parameters(), cfg.lr_g)
    opt_d = make_optimizer(cfg, game.D.parameters(), cfg.lr_d)
    ema = EMA(game.G, cfg.ema) if cfg.ema else None
    batches = _ToyStream(ToyBatches(mixture, cfg.batch_size, cfg.seed + 1))
    shots = Snapshots(cfg, snapshots)
    hooks = [LinearDecay(cfg), shots]
    loop = Loop(cfg, game, opt_g, opt_d, batches, device=torch.device("cpu"), ema=ema, hooks=hooks)
    t0, c0 = time.perf_counter(), time.process_time()
    loop.run()
    G = loop.sampler()
    samples = generate(game, NUM_SAMPLES, cfg.seed + 10_000, G)
    metrics = _metrics(samples, mixture)
    extra: dict[str, Any] = {}
    if cfg.rejection == "drs":  # the benchmark scores what a user samples: G filtered by D
        extra["generator"] = metrics  # G alone, for comparison
        game.D.eval()
        samples, stats = rejection_sample(  # runs under no_grad
            lambda n, s: generate(game, n, s, G),
            _drs_logit(cfg, game, mixture, G),
            NUM_SAMPLES,
            cfg.seed + 10_000,
            beta=cfg.drs_beta,
        )
        extra["acceptance"] = stats.acceptance
        metrics = _metrics(samples, mixture)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    return ToyRun(cfg, mixture, game, metrics, samples, seconds, cpu_seconds, shots.shots, extra)


def _drs_logit(cfg: Config, game: AdversarialGame, mixture: ToyMixture, G: torch.nn.Module):
    """The logit DRS filters with: D's own, or with ``drs_calibration`` > 0 that of a
    Fourier-feature classifier fitted to the final sampler ``G`` (:func:`fit_ratio_classifier`;
    with an EMA G, the classifier learns the EMA G's density ratio, which D's logit is not)."""
    if not cfg.drs_calibration:
        return lambda x: game.critic(x)[0]
    rng = torch.Generator().manual_seed(cfg.seed + 2)  # the data stream of training is seed + 1
    draws = itertools.count()
    classifier = fit_ratio_classifier(
        ToyDiscriminator(2, cfg.d_width, "none", fourier=cfg.drs_fourier),
        real=lambda n: mixture.sample(n, rng),
        fake=lambda n: generate(game, n, (cfg.seed + 20_000) * 1_000_003 + next(draws), G),
        steps=cfg.drs_calibration,
    )
    return lambda x: classifier(x).reshape(-1)


def _metrics(samples: torch.Tensor, mixture: ToyMixture) -> dict[str, float]:
    if not torch.isfinite(samples).all():
        return {"modes": 0.0, "high_quality": 0.0, "reverse_kl": math.log(mixture.num_modes)}
    return mode_metrics(samples, mixture.means, mixture.sigma)


def run_benchmark(
    dataset: str,
    recipe: str | None = None,
    steps: int | None = None,
    seeds: int = 1,
    out: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    log=None,
) -> dict[str, Any]:
    """Train ``recipe`` on ``dataset`` for ``seeds`` seeds (0..K−1); write PNGs/JSON to ``out``.

    Returns {"dataset", "recipe", "steps", "seeds", "modes", "high_quality", "reverse_kl",
    "seconds_per_run", "per_seed"}: plain numbers for one seed, {"mean", "se"} for several.
    """
    get_toy(dataset)
    if seeds < 1:
        raise ConfigError(f"bad --seeds {seeds}: must be at least 1")
    best = recipe is None  # the best recipe with its settings; the user's keys still win
    recipe = recipe or BEST_RECIPE[dataset]
    settings = dict(BEST_SETTINGS[dataset]) if best else {}
    if str((overrides or {}).get("rejection", "drs")) != "drs":  # the DRS keys would not act
        settings = {k: v for k, v in settings.items() if not k.startswith(("drs_", "rejection"))}
    extra = {**settings, **(overrides or {})}
    steps = steps or (BEST_STEPS[dataset] if best else None)
    base_seed = int(extra.pop("seed", 0))
    runs = []
    per_seed = []
    for k in range(seeds):
        cfg = toy_config(
            recipe, dataset, **{"steps": steps or DEFAULT_STEPS, **extra, "seed": base_seed + k}
        )
        run = train_toy(cfg, snapshots=6 if (out and k == 0) else 0)
        runs.append(run)
        per_seed.append(
            {
                "seed": cfg.seed,
                **run.metrics,
                "seconds": round(run.seconds, 2),
                "cpu_seconds": round(run.cpu_seconds, 2),
                **run.extra,
            }
        )
        if log:
            log(
                f"seed {cfg.seed}: modes {run.metrics['modes']:.0f}  "
                f"hq {run.metrics['high_quality']:.3f}  rkl {run.metrics['reverse_kl']:.4f}  "
                f"({run.seconds:.1f} s)"
            )
    result: dict[str, Any] = {
        "dataset": dataset,
        "recipe": recipe,
        "steps": runs[0].cfg.steps,
        "seeds": seeds,
    }
    for key in METRIC_KEYS:
        values = [r.metrics[key] for r in runs]
        result[key] = values[0] if seeds == 1 else mean_se(values)
    if runs[0].extra:  # rejection sampling: also G's own numbers and the acceptance rate
        gen = [r.extra["generator"] for r in runs]
        result["generator"] = {
            key: gen[0][key] if seeds == 1 else mean_se([g[key] for g in gen])
            for key in METRIC_KEYS
        }
        result["acceptance"] = sum(r.extra["acceptance"] for r in runs) / seeds
    result["seconds_per_run"] = round(sum(r.seconds for r in runs) / seeds, 2)
    result["cpu_seconds_per_run"] = round(sum(r.cpu_seconds for r in runs) / seeds, 2)
    result["per_seed"] = per_seed
    if out:
        from ganforge.views.toy import plot_samples, plot_snapshots

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        plot_samples(runs[0], out / "samples.png")
        plot_snapshots(runs[0], out / "snapshots.png")
        result["files"] = {
            "samples": str(out / "samples.png"),
            "snapshots": str(out / "snapshots.png"),
        }
        (out / "result.json").write_text(json.dumps(result, indent=2))
    return result
