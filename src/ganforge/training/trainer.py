"""A run from a config: data, game, optimisers, EMA, precision and the loop-level hooks,
assembled into the one training :class:`~ganforge.training.loop.Loop`.

What is watched and written around the loop (sample grids, evaluation, the report) comes in as
``hooks`` from the caller (``api.train`` composes :func:`ganforge.run_hooks.view_hooks`).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from ganforge.config import Config
from ganforge.data import load_dataset
from ganforge.errors import ConfigError, GanforgeError
from ganforge.games import build_game
from ganforge.run_dir import lock_run, prepare_new
from ganforge.training import distributed, precision
from ganforge.training.compiled import CompileTrial, compile_players
from ganforge.training.device import resolve_device
from ganforge.training.ema import EMA
from ganforge.training.hook import Hook
from ganforge.training.hooks import CompileTrialHook, Console, GameSchedule, MetricsLog
from ganforge.training.loop import Loop
from ganforge.training.outcome import Summary
from ganforge.training.state import resumed_threads
from ganforge.training.threads import apply_threads

__all__ = ["Summary", "Trainer", "make_optimizer"]


def make_optimizer(cfg: Config, params, lr: float, c: float = 1.0) -> torch.optim.Optimizer:
    """Adam (DCGAN, WGAN-GP, ...) or RMSProp (WGAN with clipping) with multi-tensor updates;
    ``c`` (``Game.lazy_ratio``, 1 = unchanged) rescales lr to lr * c and Adam's betas to
    beta ** c for lazy regularisation (Karras et al. 2020, arXiv:1912.04958).

    Adam uses the fused kernel (one pass over all parameters; about 5x faster than foreach on
    this project's CPU, see docs/bench/speed.md); RMSProp has no fused kernel and uses foreach.
    """
    params = list(params)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr * c, foreach=True)
    betas = (cfg.beta1**c, cfg.beta2**c)
    return torch.optim.Adam(params, lr=lr * c, betas=betas, fused=True)


class Trainer(Loop):
    """Builds data, game, optimisers from ``cfg`` and runs them into the run folder ``out``."""

    def __init__(
        self,
        cfg: Config,
        out: str | Path,
        *,
        resume: bool = False,
        force: bool = False,
        progress: bool | None = None,
        hooks: Sequence[Hook] = (),
    ):
        out = Path(out)
        dist = distributed.context()
        device = distributed.init(dist, resolve_device(cfg.device))
        threads_line = apply_threads(cfg, device)  # printed after the start line
        threads = resumed_threads(out) if resume and not cfg.threads else 0
        if threads and device.type == "cpu":  # the same reductions: an exact resume
            torch.set_num_threads(threads)
            threads_line = (
                f"ganforge: {threads} CPU thread(s), as the run being resumed (its "
                "arithmetic stays the same); --set threads=N to choose"
            )
        chosen = precision.resolve(cfg.precision, device)
        precision_line = (
            f"ganforge: {chosen} autocast (precision=auto: this CPU computes bf16 natively); "
            "--precision fp32 to choose"
            if chosen != cfg.precision and chosen != "fp32"
            else ""
        )
        cfg = dataclasses.replace(cfg, precision=chosen)  # config.json saves what ran
        precision.check(cfg.precision, device)
        slow = precision.slow_precision_warning(cfg.precision, device)
        if slow and dist.is_main:
            print(slow, file=sys.stderr, flush=True)
        _claim_folder(out, dist, device, resume, force)
        data = load_dataset(
            cfg.dataset, "train", cfg.data_dir, cfg.image_size, cfg.channels, skip_bad=cfg.skip_bad
        )
        if data.skipped and dist.is_main:
            print(
                f"ganforge: skipped {data.skipped} unreadable image file(s) in {data.name} "
                "(skip_bad=true)",
                file=sys.stderr,
            )
        torch.manual_seed(cfg.seed)
        num_classes = cfg.num_classes or data.num_classes
        game = build_game(cfg, data.shape, num_classes, dist.shard).to(device)
        if cfg.channels_last and game.channels_last_ok():
            game.to(memory_format=torch.channels_last)
        opt_g = make_optimizer(cfg, game.G.parameters(), cfg.lr_g, game.lazy_ratio("G"))
        opt_d = make_optimizer(cfg, game.D.parameters(), cfg.lr_d, game.lazy_ratio("D"))
        ema = EMA(game.G, cfg.ema) if cfg.ema else None
        loop_hooks: list[Hook] = [GameSchedule()]
        if cfg.compile:  # after the EMA copy, which stays eager
            wrappers = compile_players(game, cfg)
            if cfg.compile_trial and wrappers:
                sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
                loop_hooks.append(
                    CompileTrialHook(CompileTrial(wrappers, cfg.compile_trial, sync=sync))
                )
        if cfg.batch_size % dist.world_size:
            raise ConfigError(
                f"bad value {cfg.batch_size} for 'batch_size': must divide by the "
                f"{dist.world_size} processes"
            )
        per_rank = cfg.batch_size // dist.world_size
        batches = game.make_batches(data, per_rank, cfg.seed, device, dist.rank, dist.world_size)
        progress = sys.stderr.isatty() if progress is None else progress
        notes = tuple(line for line in (threads_line, precision_line) if line)
        outputs: list[Hook] = [
            MetricsLog(out, cfg.tensorboard, dist.is_main),
            Console(data.name, progress and dist.is_main, notes, dist.is_main),
        ]
        super().__init__(
            cfg,
            game,
            opt_g,
            opt_d,
            batches,
            device=device,
            dist=dist,
            out=out,
            ema=ema,
            scaler=precision.grad_scaler(cfg.precision, device),
            hooks=[*loop_hooks, *hooks, *outputs],
            facts={"skipped_images": data.skipped, "class_names": list(data.class_names)},
        )
        if resume:
            self.restore()
        if dist.enabled:  # every replica starts from rank 0's weights and buffers
            distributed.broadcast_module(dist, game)
            if ema:
                distributed.broadcast_module(dist, ema.module)


def _claim_folder(out: Path, dist, device: torch.device, resume: bool, force: bool) -> None:
    """Rank 0 locks the run folder (a new one, or the run to resume); every rank learns
    whether that worked before any of them goes on."""
    failure: GanforgeError | None = None
    if dist.is_main:
        try:
            lock_run(out) if resume else prepare_new(out, force)
        except GanforgeError as exc:
            failure = exc
    distributed.check_all_ok(dist, failure is None, device)
    if failure is not None:
        raise failure
