"""The training loop: any game, any budget; checkpoints, exact resume, signals, divergence.

One step = ``d_steps`` discriminator updates, each on a fresh real batch, then one generator
update (Goodfellow et al. 2014, Algorithm 1); the G step reuses the fakes of the last D step
(``DStep.fakes``). The loop knows a game only through :class:`~ganforge.games.base.Game` and
never branches on a family. Everything around the step is a :class:`~ganforge.training.hook.
Hook`. The loop never synchronises with the device except at log and checkpoint intervals:
losses are summed on the device.
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ganforge.config import Config
from ganforge.errors import GanforgeError
from ganforge.games.base import Game
from ganforge.run_dir import release_run, write_json
from ganforge.training import checkpoint as ckpt
from ganforge.training import distributed, precision
from ganforge.training import state as run_state
from ganforge.training.ema import EMA, STANDING_STATS_SEED
from ganforge.training.guard import DivergenceGuard
from ganforge.training.hook import Hook, Hooks
from ganforge.training.outcome import Diverged, Interrupted, Summary
from ganforge.training.status import one_line, write_status


class Loop:
    """Runs ``game`` with its optimisers on ``batches`` (an iterator with ``epochs_done``,
    ``per_epoch``, ``state_dict`` and ``load_state_dict``). With ``out`` (a locked run folder)
    it writes checkpoints, ``run.json`` and ``config.json`` and stops cleanly on SIGINT/SIGTERM;
    without, it only trains (the toy benchmark)."""

    def __init__(
        self,
        cfg: Config,
        game: Game,
        opt_g: torch.optim.Optimizer,
        opt_d: torch.optim.Optimizer,
        batches: Any,
        *,
        device: torch.device,
        dist: distributed.DistContext | None = None,
        out: str | Path | None = None,
        ema: EMA | None = None,
        scaler: torch.amp.GradScaler | None = None,
        hooks: Sequence[Hook] = (),
        facts: dict[str, Any] | None = None,
    ):
        self.cfg, self.game, self.opt_g, self.opt_d = cfg, game, opt_g, opt_d
        self.batches, self.device, self.ema, self.scaler = batches, device, ema, scaler
        self.dist = dist or distributed.DistContext(0, 1, 0)
        self.out = Path(out) if out is not None else None
        self.hooks = Hooks(hooks)
        self.facts = dict(facts or {})  # extra run.json facts of the assembler (skipped images)
        self.ckpt_dir = self.out / "checkpoints" if self.out else None
        self.step = 0
        self.wall_before = 0.0  # seconds trained before a resume
        self.last_checkpoint: Path | None = None
        self.total: int | None = None  # the step budget of the current run() (None: open)
        self.deadline: float | None = None  # its time budget on time.monotonic()'s clock
        self.started = 0.0
        self.done = False  # the budget is spent after the current step
        self._stop_signal: int | None = None
        # a loop without a run folder (the toy) trains on through NaN: its G is scored as it is
        self.guard = DivergenceGuard(self.dist, device, cfg.on_nan == "stop" and out is not None)
        game.bind_optimizers(opt_g, opt_d)

    # -- budget -------------------------------------------------------------------------
    def total_steps(self) -> int | None:
        """Steps to train to: the least of ``steps`` and ``epochs`` (None: neither is set)."""
        cfg, limits = self.cfg, []
        if cfg.steps:
            limits.append(cfg.steps)
        if cfg.epochs:
            limits.append(max(1, math.ceil(cfg.epochs * self.batches.per_epoch / cfg.d_steps)))
        return min(limits) if limits else None

    # -- the generator to look at ---------------------------------------------------------
    def sampler(self) -> torch.nn.Module:
        """The generator to sample, evaluate and save: the EMA G (with BatchNorm statistics
        re-estimated for its own weights) when enabled, else the live G."""
        if self.ema is None:
            return self.game.G
        self.ema.standing_statistics(self._prior_inputs, self.cfg.seed + STANDING_STATS_SEED)
        return self.ema.module

    def _prior_inputs(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.game.prior_inputs(n, generator).to(self.device)

    # -- checkpoints and status ---------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything an exact resume needs (:mod:`ganforge.training.state`)."""
        self.sampler()
        return run_state.capture(self)

    def save(self) -> Path:
        """A checkpoint ``checkpoints/step-NNNNNN``; older ones pruned to keep_checkpoints."""
        if self.ckpt_dir is None:
            raise GanforgeError("this loop has no run folder to save checkpoints in")
        path = ckpt.step_path(self.ckpt_dir, self.step)
        self.sampler()  # on every rank: the EMA G's statistics stay the same everywhere
        if self.dist.is_main:
            ckpt.save_checkpoint(path, run_state.capture(self))
            ckpt.prune(self.ckpt_dir, self.cfg.keep_checkpoints)
        self.last_checkpoint = path
        return path

    def restore(self) -> None:
        """Continue from the run folder's latest loadable checkpoint."""
        path = ckpt.latest_checkpoint(self.ckpt_dir) if self.ckpt_dir else None
        if path is None or self.out is None:
            raise GanforgeError(f"{self.out} has no loadable checkpoint to resume from")
        run_state.restore(self, ckpt.load_checkpoint(path), path)
        self.last_checkpoint = path
        self.wall_before = run_state.wall_seconds_before(self.out)
        if self.dist.is_main:
            ckpt.remove_stale_temporaries(self.ckpt_dir)
            run_state.truncate_metrics(self.out / "metrics.jsonl", self.step)

    def write_status(self, status: str, extra: dict[str, Any] | None = None) -> None:
        """Update RUN/run.json (rank 0 of a run with a folder; else nothing)."""
        if self.out is None or not self.dist.is_main:
            return
        facts = {
            "recipe": self.cfg.recipe,
            "dataset": self.cfg.dataset,
            "game": self.game.describe(),
            "steps": self.step,
            "world_size": self.dist.world_size,
            "threads": torch.get_num_threads(),
            "device": str(self.device),
            **self.facts,
        }
        if self.last_checkpoint is not None:
            facts["last_checkpoint"] = self.last_checkpoint.name
        write_status(self.out / "run.json", status, {**facts, **(extra or {})})

    # -- running ------------------------------------------------------------------------
    def run(self) -> Summary:
        """Train to the budget; returns the summary. Raises Diverged or Interrupted."""
        try:
            return self._run()
        finally:
            distributed.shutdown(self.dist)
            if self.out is not None:
                release_run(self.out)

    def _run(self) -> Summary:
        if self.out is not None and self.dist.is_main:
            write_json(self.out / "config.json", self.cfg.to_dict())
        self.total = self.total_steps()
        if self.total is not None and self.step >= self.total:
            raise GanforgeError(
                f"{self.out} already reached step {self.step}; pass --steps N with N > "
                f"{self.step} to train further"
            )
        cfg = self.cfg
        self.started = time.monotonic()
        self.deadline = self.started + cfg.minutes * 60 if cfg.minutes else None
        self.done, self._stop_signal = False, None
        signals = (signal.SIGINT, signal.SIGTERM) if self.out is not None else ()
        old_handlers = {s: signal.signal(s, self._on_signal) for s in signals}
        try:
            self.hooks.on_start(self)
            self.write_status("running")
            summary = self._train()
            self.hooks.on_end(self, summary)
            return summary
        except Diverged:
            self.write_status("diverged")
            raise
        except Interrupted:
            raise
        except Exception as exc:  # run.json says what happened, never a stale "running"
            with contextlib.suppress(GanforgeError, OSError):
                self.write_status("failed", {"error": one_line(exc)})
            raise
        finally:
            for s, h in old_handlers.items():
                signal.signal(s, h)
            self.hooks.on_close(self)

    def _train(self) -> Summary:
        cfg, t0, start_step = self.cfg, self.started, self.step
        acc: dict[str, torch.Tensor] = {}
        acc_n = 0
        last_log_t, last_log_step, last_ckpt_t = t0, self.step, t0
        images_per_step = cfg.batch_size * cfg.d_steps
        ckpt_every_s = cfg.checkpoint_minutes * 60 if cfg.checkpoint_minutes else None
        last: dict[str, Any] = {"d_loss": None, "g_loss": None}
        autocast = precision.autocast(cfg.precision, self.device)
        while True:
            self.hooks.before_step(self, self.step)
            logs = self.train_step(autocast)
            self.step += 1
            for k, v in logs.items():
                acc[k] = acc[k] + v.float() if k in acc else v.float()
            self.guard.observe(self.step, logs["d_loss"], logs["g_loss"])
            acc_n += 1
            now = time.monotonic()
            self.done = (self.total is not None and self.step >= self.total) or (
                self.deadline is not None and now >= self.deadline
            )
            ckpt_due = bool(ckpt_every_s and now - last_ckpt_t >= ckpt_every_s)
            if self.dist.enabled:  # clocks and signals differ: all ranks act on the max
                flags = [self.done, self._stop_signal or 0, ckpt_due]
                done_f, sig_f, due_f = distributed.agree(self.dist, flags, self.device)
                self.done, ckpt_due = bool(done_f), bool(due_f)
                self._stop_signal = int(sig_f) or None
            if self.step % cfg.log_every == 0 or self.done or self._stop_signal:
                now = time.monotonic()
                images = (self.step - last_log_step) * images_per_step
                last = self._log(acc, acc_n, now - t0, now - last_log_t, images)
                if self.guard.active and self.guard.bad_step() >= 0:
                    self._check_finite()
                acc, acc_n = {}, 0
                last_log_t, last_log_step = now, self.step
            self.hooks.on_step(self, self.step)
            every = cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0
            if self.out is not None and not self.done and (every or ckpt_due):
                self._check_finite()
                self.save()
                last_ckpt_t = time.monotonic()
                self.write_status("running", {"wall_seconds": self._wall(t0)})
            if self._stop_signal:
                self._interrupt(t0)
            if self.done:
                break
        wall = time.monotonic() - t0
        return self._finish(wall, (self.step - start_step) * images_per_step, last)

    def train_step(self, autocast: Any) -> dict[str, torch.Tensor]:
        """One step: ``d_steps`` D updates on fresh batches, one G update, EMA; its logs."""
        cfg, game = self.cfg, self.game
        for i in range(cfg.d_steps):
            batch = next(self.batches)
            with autocast:  # earlier D steps keep no fakes: no G graph is recorded for them
                d = game.d_loss(batch, self.step, i == cfg.d_steps - 1)
            self._update(self.opt_d, d.loss)
            game.after_d_step()
        game.D.requires_grad_(False)  # D's weights need no gradients in G's step
        with autocast:
            loss_g, g_logs = game.g_loss(batch, self.step, d.fakes)
        self._update(self.opt_g, loss_g)
        game.D.requires_grad_(True)
        if self.dist.enabled:  # rank 0's BatchNorm statistics everywhere (as DDP)
            distributed.broadcast_buffers(self.dist, game)
        if self.ema:
            self.ema.update()
        logs = dict(d.logs)
        logs.update(g_logs)
        logs["d_loss"], logs["g_loss"] = d.loss.detach(), loss_g.detach()
        return logs

    def _update(self, opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        if self.cfg.on_nan == "skip":  # one sync per step, only when the user asked for it
            bad = float(not torch.isfinite(loss))
            if distributed.agree(self.dist, [bad], self.device)[0]:
                return
        params = [p for group in opt.param_groups for p in group["params"]]
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            distributed.average_gradients(self.dist, params)
            self.scaler.step(opt)
            self.scaler.update()
        else:
            loss.backward()
            distributed.average_gradients(self.dist, params)
            opt.step()

    def _log(self, acc, n: int, elapsed: float, interval: float, images: int) -> dict[str, Any]:
        if self.dist.enabled:  # the logged losses are means over all ranks
            keys = sorted(acc)
            means = distributed.agree_mean(self.dist, torch.stack([acc[k] for k in keys]))
            acc = dict(zip(keys, means, strict=True))
        line: dict[str, Any] = {
            "step": self.step,
            "epoch": round(self.batches.epochs_done, 4),
            "images_per_sec": round(images / interval, 2) if interval > 0 else 0.0,
            "elapsed": round(self.wall_before + elapsed, 3),
        }
        for k, v in acc.items():
            value = (v / n).item()
            line[k] = round(value, 6) if math.isfinite(value) else str(value)
        self.hooks.on_log(self, self.step, line)
        return line

    def _check_finite(self) -> None:
        self.guard.check(self.step, self.game.parameters(), self.last_checkpoint, self.ckpt_dir)

    def _wall(self, t0: float) -> float:
        return self.wall_before + time.monotonic() - t0

    def progress(self) -> float | None:
        """The fraction of the run's budget done, for schedules: step / total under a step
        budget; under a time budget the wall time trained (before a resume too) over the wall
        time it will have trained at the deadline, so a run resumed for the minutes it had
        left continues its schedule where it stopped; None without a budget."""
        if self.total:
            return self.step / self.total
        if self.deadline is None:
            return None
        return min(1.0, self._wall(self.started) / (self.wall_before + self.cfg.minutes * 60))

    def _on_signal(self, signum, frame) -> None:  # noqa: ARG002
        self._stop_signal = signum

    def _interrupt(self, t0: float) -> None:
        self._check_finite()
        path = self.save()
        self.write_status("interrupted", {"wall_seconds": self._wall(t0)})
        name = signal.Signals(self._stop_signal).name
        raise Interrupted(
            f"{name} received: stopped at step {self.step}, checkpoint {path}; "
            f"resume with: ganforge train --resume {self.out}",
            self._stop_signal,
        )

    def _finish(self, wall: float, images: int, last: dict[str, Any]) -> Summary:
        """The final checkpoint, the replicas' check and run.json's "finished"."""
        self._check_finite()
        if self.out is not None:
            self.save()
        in_sync = distributed.replicas_identical(self.dist, self.game, self.device)
        if not in_sync and self.dist.is_main:
            warn = "ganforge: warning: the replicas' weights differ across ranks"
            print(warn, file=sys.stderr, flush=True)
        ips = images / wall if wall > 0 else 0.0
        summary = Summary(
            str(self.out),
            self.step,
            round(ips, 2),
            round(self.wall_before + wall, 3),
            last["d_loss"],
            last["g_loss"],
        )
        self.write_status(
            "finished",
            {
                "wall_seconds": summary.wall_seconds,
                "images_per_sec": summary.images_per_sec,
                "d_loss": summary.d_loss,
                "g_loss": summary.g_loss,
                **({"replicas_identical": in_sync} if self.dist.enabled else {}),
            },
        )
        return summary
