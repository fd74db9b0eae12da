"""The generic training loop: any game, any budget; logs, grids, checkpoints, resume, signals.

One step = ``d_steps`` discriminator updates (each on a fresh real batch) and one generator
update (Goodfellow et al. 2014, Algorithm 1). The loop never synchronises with the device
except at logging, sampling and checkpoint intervals: losses are summed on the device.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganforge.config import Config
from ganforge.data import load_dataset
from ganforge.errors import ConfigError, GanforgeError
from ganforge.games import build_game
from ganforge.run_dir import lock_run, prepare_new, read_json, release_run, write_json
from ganforge.training import checkpoint as ckpt
from ganforge.training import distributed, precision
from ganforge.training.announce import start_line, time_left
from ganforge.training.collapse import check_trainer as check_collapse
from ganforge.training.ema import EMA, STANDING_STATS_SEED
from ganforge.training.threads import apply_threads
from ganforge.views.grids import save_grid


class Diverged(GanforgeError):
    """A non-finite loss or weight stopped the run."""

    exit_code = 3


class Interrupted(GanforgeError):
    """SIGINT/SIGTERM: the run saved a checkpoint and stopped."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda but no CUDA device is available; use --device cpu")
    return torch.device(name)


def make_optimizer(cfg: Config, params, lr: float) -> torch.optim.Optimizer:
    """Adam (DCGAN, WGAN-GP, ...) or RMSProp (WGAN with clipping) with multi-tensor updates.

    Adam uses the fused kernel (one pass over all parameters; about 5x faster than foreach on
    this project's CPU, see docs/bench/speed.md); RMSProp has no fused kernel and uses foreach.
    """
    params = list(params)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, foreach=True)
    return torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2), fused=True)


@dataclass
class Summary:
    run: str
    steps: int
    images_per_sec: float
    wall_seconds: float
    d_loss: float | None
    g_loss: float | None
    status: str = "finished"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Trainer:
    """Builds data, game, optimisers from a config and runs them into a run directory."""

    def __init__(
        self,
        cfg: Config,
        out: str | Path,
        *,
        resume: bool = False,
        force: bool = False,
        progress: bool | None = None,
        extend_steps: int = 0,
    ):
        self.cfg, self.out = cfg, Path(out)
        self.dist = distributed.context()
        self.device = distributed.init(self.dist, resolve_device(cfg.device))
        self.threads_line = apply_threads(cfg, self.device)  # printed after the header
        resumed_threads = self._resumed_threads() if resume and not cfg.threads else 0
        if resumed_threads and self.device.type == "cpu":  # same reductions: an exact resume
            torch.set_num_threads(resumed_threads)
            self.threads_line = (
                f"ganforge: {resumed_threads} CPU thread(s), as the run being resumed (its "
                "arithmetic stays the same); --set threads=N to choose"
            )
        precision.check(cfg.precision, self.device)
        slow = precision.slow_precision_warning(cfg.precision, self.device)
        if slow and self.dist.is_main:
            print(slow, file=sys.stderr, flush=True)
        self.progress = sys.stderr.isatty() if progress is None else progress
        self._stop_signal: int | None = None
        failure: GanforgeError | None = None
        if self.dist.is_main:  # only rank 0 locks the run folder (run_dir.lock_run)
            try:
                lock_run(self.out) if resume else prepare_new(self.out, force)
            except GanforgeError as exc:
                failure = exc
        distributed.check_all_ok(self.dist, failure is None, self.device)
        if failure is not None:
            raise failure
        data = load_dataset(
            cfg.dataset, "train", cfg.data_dir, cfg.image_size, cfg.channels, skip_bad=cfg.skip_bad
        )
        self.data_name, self.skipped = data.name, data.skipped
        if self.skipped and self.dist.is_main:
            print(
                f"ganforge: skipped {self.skipped} unreadable image file(s) in {data.name} "
                "(skip_bad=true)",
                file=sys.stderr,
            )
        num_classes = cfg.num_classes or data.num_classes
        torch.manual_seed(cfg.seed)
        self.game = build_game(cfg, data.shape, num_classes, self.dist.shard).to(self.device)
        if cfg.channels_last and self.game.channels_last_ok():
            self.game.to(memory_format=torch.channels_last)
        self.opt_g = make_optimizer(cfg, self.game.G.parameters(), cfg.lr_g)
        self.opt_d = make_optimizer(cfg, self.game.D.parameters(), cfg.lr_d)
        self.game.bind_optimizers(self.opt_g, self.opt_d)
        self.scaler = precision.grad_scaler(cfg.precision, self.device)
        self.ema = EMA(self.game.G, cfg.ema) if cfg.ema else None
        self.compile_trial = None
        if cfg.compile:  # after the EMA copy, which stays eager
            from ganforge.training.compiled import CompileTrial, compile_players

            wrappers = compile_players(self.game, cfg)
            if cfg.compile_trial and wrappers:
                sync = torch.cuda.synchronize if self.device.type == "cuda" else (lambda: None)
                self.compile_trial = CompileTrial(wrappers, cfg.compile_trial, sync=sync)
        if cfg.batch_size % self.dist.world_size:
            raise ConfigError(
                f"bad value {cfg.batch_size} for 'batch_size': must divide by the "
                f"{self.dist.world_size} processes"
            )
        self.batches = self.game.make_batches(
            data,
            cfg.batch_size // self.dist.world_size,
            cfg.seed,
            self.device,
            self.dist.rank,
            self.dist.world_size,
        )
        self.step = 0
        self.wall_before = 0.0  # seconds trained before a resume
        grid_n, self.grid_nrow = self.game.grid_shape()
        self.fixed = self.game.fixed_inputs(grid_n, cfg.seed + 1, self.device, grid=True)
        self.ckpt_dir = self.out / "checkpoints"
        self.last_checkpoint: Path | None = None
        self.best: dict[str, Any] | None = None  # {"step": s, "fid": v} once evaluation runs
        self.tb = self._tensorboard() if cfg.tensorboard and self.dist.is_main else None
        if resume:
            self._restore(extend_steps)
        if self.dist.enabled:  # every replica starts from rank 0's weights and buffers
            distributed.broadcast_module(self.dist, self.game)
            if self.ema:
                distributed.broadcast_module(self.dist, self.ema.module)

    # -- budget -------------------------------------------------------------------------
    def total_steps(self) -> int | None:
        cfg, limits = self.cfg, []
        if cfg.steps:
            limits.append(cfg.steps)
        if cfg.epochs:
            per_step = cfg.d_steps
            limits.append(max(1, math.ceil(cfg.epochs * self.batches.per_epoch / per_step)))
        return min(limits) if limits else None

    # -- checkpoints --------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        rng: dict[str, Any] = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            "step": self.step,
            "config": self.cfg.to_dict(),
            "game": self.game.describe(),
            "models": {"G": self.game.G.state_dict(), "D": self.game.D.state_dict()},
            "ema": self.sampler().state_dict() if self.ema else None,
            "optim": {"g": self.opt_g.state_dict(), "d": self.opt_d.state_dict()},
            "scaler": self.scaler.state_dict() if self.scaler else None,
            "batches": self.batches.state_dict(),
            "game_state": self.game.extra_state(),
            "rng": rng,
        }

    def save(self, path: Path | None = None) -> Path:
        path = path or ckpt.step_path(self.ckpt_dir, self.step)
        self.sampler()  # on every rank: the EMA G's statistics stay the same everywhere
        if self.dist.is_main:
            ckpt.save_checkpoint(path, self.state())
            ckpt.prune(self.ckpt_dir, self.cfg.keep_checkpoints)
        self.last_checkpoint = path
        return path

    def _resumed_threads(self) -> int:
        """The thread count the run being resumed chose automatically (0: unknown)."""
        path = self.out / "run.json"
        try:
            return int(read_json(path).get("threads", 0)) if path.is_file() else 0
        except (GanforgeError, ValueError, TypeError):
            return 0

    def _restore(self, extend_steps: int) -> None:
        path = ckpt.latest_checkpoint(self.ckpt_dir)
        if path is None:
            raise GanforgeError(f"{self.out} has no loadable checkpoint to resume from")
        state = ckpt.load_checkpoint(path)
        self.load_state(state, path)
        self.last_checkpoint = path
        if self.dist.is_main:
            ckpt.remove_stale_temporaries(self.ckpt_dir)
        info = read_json(self.out / "run.json")
        self.wall_before = float(info.get("wall_seconds", 0.0))
        self._truncate_metrics()

    def load_state(self, state: dict[str, Any], path: Path) -> None:
        if state["game"] != self.game.describe():
            raise GanforgeError(f"{path} was written by an incompatible config (game differs)")
        try:
            self.game.G.load_state_dict(state["models"]["G"])
            self.game.D.load_state_dict(state["models"]["D"])
            self.opt_g.load_state_dict(state["optim"]["g"])
            self.opt_d.load_state_dict(state["optim"]["d"])
            for opt in (self.opt_g, self.opt_d):
                ckpt.restore_optimizer_layout(opt)
            if self.ema and state.get("ema"):
                self.ema.load_state_dict(state["ema"], updates=int(state["step"]))
        except (RuntimeError, KeyError, ValueError) as exc:
            lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
            detail = next((ln for ln in lines if ln.startswith(("size mismatch", "Missing"))), "")
            first = (detail or (lines[0] if lines else type(exc).__name__)).rstrip(".")
            raise GanforgeError(
                f"{path} does not fit this run's models ({first}); was config.json edited?"
            ) from None
        if self.scaler and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.batches.load_state_dict(state["batches"])
        self.game.load_extra_state(state.get("game_state") or {})
        self.step = int(state["step"])
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)

    def _truncate_metrics(self) -> None:
        """Drop metric lines logged after the checkpoint we resume from (and a line half
        written when the process was killed)."""
        path = self.out / "metrics.jsonl"
        if not self.dist.is_main or not path.exists():
            return
        keep = []
        for ln in path.read_text().splitlines():
            try:
                step = json.loads(ln).get("step", 0)
            except (ValueError, AttributeError):
                continue
            if step <= self.step:
                keep.append(ln)
        path.write_text("".join(ln + "\n" for ln in keep))

    # -- views --------------------------------------------------------------------------
    def sampler(self) -> torch.nn.Module:
        """The generator to sample, evaluate and save: the EMA G (with BatchNorm statistics
        re-estimated for its own weights) when enabled, else the live G."""
        if self.ema is None:
            return self.game.G
        self.ema.standing_statistics(self._prior_inputs, self.cfg.seed + STANDING_STATS_SEED)
        return self.ema.module

    def _prior_inputs(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.game.prior_inputs(n, generator).to(self.device)

    def save_grid(self, path: Path) -> None:
        G = self.sampler()
        was_training = G.training
        G.eval()
        try:
            images = self.game.render(G, self.fixed)
        finally:
            G.train(was_training)
        save_grid(images, path, nrow=self.grid_nrow)
        if path.parent.name == "samples" and (warning := check_collapse(self, images)):
            print(warning, file=sys.stderr, flush=True)  # once per run: G seems collapsed
        if self.tb is not None and path.parent.name == "samples":
            from ganforge.views.grids import make_grid

            self.tb.add_image(
                "samples", make_grid(images, self.grid_nrow), self.step, dataformats="HWC"
            )

    def _write_status(self, status: str, extra: dict[str, Any] | None = None) -> None:
        if not self.dist.is_main:
            return
        path = self.out / "run.json"
        info = read_json(path) if path.exists() else {}
        info.update(
            {
                "status": status,
                "recipe": self.cfg.recipe,
                "dataset": self.cfg.dataset,
                "game": self.game.describe(),
                "steps": self.step,
                "pid": os.getpid(),
                "updated": time.time(),
                "world_size": self.dist.world_size,
                "threads": torch.get_num_threads(),
                "device": str(self.device),
                "skipped_images": self.skipped,
            }
        )
        info.setdefault("started", time.time())
        if self.last_checkpoint is not None:
            info["last_checkpoint"] = self.last_checkpoint.name
        info.update(extra or {})
        write_json(path, info)

    # -- the loop -----------------------------------------------------------------------
    def _end_compile_trial(self) -> None:
        """Keep the compiled forwards only if they made steps faster (on every rank)."""
        trial, self.compile_trial = self.compile_trial, None
        # every rank joins the collective, even one whose compiles all failed
        compiled_s, eager_s = distributed.agree(self.dist, list(trial.medians()), self.device)
        if all(w.failed for w in trial.wrappers):
            return  # each failure already printed its warning
        report = trial.decide(compiled_s, eager_s)
        if self.dist.is_main:
            print(report, file=sys.stderr, flush=True)

    def _on_signal(self, signum, frame) -> None:  # noqa: ARG002
        self._stop_signal = signum

    def run(self) -> Summary:
        try:
            return self._run()
        finally:
            distributed.shutdown(self.dist)
            release_run(self.out)

    def _run(self) -> Summary:
        cfg, game = self.cfg, self.game
        if self.dist.is_main:
            write_json(self.out / "config.json", cfg.to_dict())
        total = self.total_steps()
        if total is not None and self.step >= total:
            raise GanforgeError(
                f"{self.out} already reached step {self.step}; pass --steps N with N > "
                f"{self.step} to train further"
            )
        deadline = time.monotonic() + cfg.minutes * 60 if cfg.minutes else None
        if self.dist.is_main:
            header = start_line(cfg.recipe, self.data_name, total, cfg.minutes, self.out, self.step)
            lines = [header, self.threads_line] if self.threads_line else [header]
            print(*lines, sep="\n", file=sys.stderr, flush=True)
        sample_at = self._sample_schedule(total)
        ckpt_every_s = cfg.checkpoint_minutes * 60 if cfg.checkpoint_minutes else None
        old_handlers = {
            s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)
        }
        self._write_status("running")
        autocast = precision.autocast(cfg.precision, self.device)
        acc: dict[str, torch.Tensor] = {}
        acc_n, bad_step = 0, torch.full((), -1, dtype=torch.long, device=self.device)
        t0 = time.monotonic()
        last_log_t, last_log_step, last_ckpt_t = t0, self.step, t0
        images_per_step = cfg.batch_size * cfg.d_steps
        last = {"d_loss": None, "g_loss": None}
        bar = self._progress_bar(total)
        start_step = self.step
        completed = False
        try:
            while True:
                self._schedule_lr(total, deadline)
                if self.compile_trial:
                    self.compile_trial.start_step()
                # discriminator: d_steps updates, each on a fresh real batch
                for i in range(cfg.d_steps):
                    batch = next(self.batches)
                    keep = i == cfg.d_steps - 1  # earlier fakes: no G graph
                    with autocast:
                        loss_d, logs, fakes = game.d_loss(batch, self.step, keep)
                    self._update(self.opt_d, loss_d)
                    game.after_d_step()
                # generator: D's weights need no gradients here
                game.D.requires_grad_(False)
                with autocast:
                    loss_g, g_logs = game.g_loss(batch, self.step, fakes)
                self._update(self.opt_g, loss_g)
                game.D.requires_grad_(True)
                if self.dist.enabled:  # rank 0's BatchNorm statistics everywhere (as DDP)
                    distributed.broadcast_buffers(self.dist, game)
                if self.ema:
                    self.ema.update()
                if self.compile_trial and self.compile_trial.end_step():
                    self._end_compile_trial()
                self.step += 1
                logs.update(g_logs)
                logs["d_loss"], logs["g_loss"] = loss_d.detach(), loss_g.detach()
                for k, v in logs.items():
                    acc[k] = acc[k] + v.float() if k in acc else v.float()
                finite = torch.isfinite(loss_d.detach()) & torch.isfinite(loss_g.detach())
                bad_step = torch.where(~finite & (bad_step < 0), self.step, bad_step)
                acc_n += 1
                if bar is not None:
                    bar.update(1)
                done = (total is not None and self.step >= total) or (
                    deadline is not None and time.monotonic() >= deadline
                )
                ckpt_due = bool(ckpt_every_s and time.monotonic() - last_ckpt_t >= ckpt_every_s)
                if self.dist.enabled:  # clocks and signals differ: all ranks act on the max
                    flags = [done, self._stop_signal or 0, ckpt_due]
                    done_f, sig_f, due_f = distributed.agree(self.dist, flags, self.device)
                    done, ckpt_due = bool(done_f), bool(due_f)
                    self._stop_signal = int(sig_f) or None
                if self.step % cfg.log_every == 0 or done or self._stop_signal:
                    now = time.monotonic()
                    line = self._log(
                        acc,
                        acc_n,
                        bad_step,
                        now - t0,
                        now - last_log_t,
                        (self.step - last_log_step) * images_per_step,
                    )
                    last = line
                    acc, acc_n = {}, 0
                    last_log_t, last_log_step = now, self.step
                    if bar is not None:
                        eta = {}  # a time budget has no step total: show the time left instead
                        if total is None and deadline is not None:
                            eta["left"] = bar.format_interval(max(0.0, deadline - now))
                        bar.set_postfix(d=_num(line["d_loss"], 3), g=_num(line["g_loss"], 3), **eta)
                    elif self.dist.is_main:
                        print(
                            f"step {self.step}{'/' + str(total) if total else ''}  "
                            f"d_loss {_num(line['d_loss'])}  g_loss {_num(line['g_loss'])}  "
                            f"{line['images_per_sec']:.0f} img/s{time_left(deadline, now)}",
                            file=sys.stderr,
                            flush=True,
                        )
                if self.dist.is_main and (self.step in sample_at or self._sample_due(deadline, t0)):
                    self.save_grid(self.out / "samples" / f"step-{self.step:06d}.png")
                if not done and (
                    (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0) or ckpt_due
                ):
                    self._check_finite(bad_step)
                    self.save()
                    last_ckpt_t = time.monotonic()
                    self._write_status(
                        "running", {"wall_seconds": self.wall_before + time.monotonic() - t0}
                    )
                if cfg.eval_every and (self.step % cfg.eval_every == 0 or done):
                    self._evaluate()
                if self._stop_signal:
                    self._check_finite(bad_step)
                    path = self.save()
                    self._write_status(
                        "interrupted", {"wall_seconds": self.wall_before + time.monotonic() - t0}
                    )
                    name = signal.Signals(self._stop_signal).name
                    raise Interrupted(
                        f"{name} received: stopped at step {self.step}, checkpoint {path}; "
                        f"resume with: ganforge train --resume {self.out}",
                        self._stop_signal,
                    )
                if done:
                    break
            completed = True
        except Diverged:
            self._write_status("diverged")
            raise
        except Interrupted:
            raise
        except Exception as exc:  # run.json says what happened, never a stale "running"
            with contextlib.suppress(GanforgeError, OSError):
                self._write_status("failed", {"error": _one_line(exc)})
            raise
        finally:
            if bar is not None:
                bar.close()
            for s, h in old_handlers.items():
                signal.signal(s, h)
            if self.tb is not None and not completed:
                self.tb.close()  # on success it stays open for the final grid (_after_run)
        wall = time.monotonic() - t0
        self._check_finite(bad_step)
        self.save()
        in_sync = distributed.replicas_identical(self.dist, self.game, self.device)
        if not in_sync and self.dist.is_main:
            print("ganforge: warning: the replicas' weights differ across ranks", file=sys.stderr)
        if self.dist.is_main:
            if not (self.out / "samples" / f"step-{self.step:06d}.png").exists():
                self.save_grid(self.out / "samples" / f"step-{self.step:06d}.png")
            self.save_grid(self.out / "samples.png")
        ips = (self.step - start_step) * images_per_step / wall if wall > 0 else 0.0
        summary = Summary(
            str(self.out),
            self.step,
            round(ips, 2),
            round(self.wall_before + wall, 3),
            last["d_loss"],
            last["g_loss"],
        )
        self._write_status(
            "finished",
            {
                "wall_seconds": summary.wall_seconds,
                "images_per_sec": summary.images_per_sec,
                "d_loss": summary.d_loss,
                "g_loss": summary.g_loss,
                **({"replicas_identical": in_sync} if self.dist.enabled else {}),
            },
        )
        self._after_run()
        return summary

    def _after_run(self) -> None:
        """Close TensorBoard; write RUN/report.html and RUN/timelapse.gif (``cfg.report``)."""
        if self.tb is not None:
            self.tb.close()
        if not self.dist.is_main or not self.cfg.report:
            return
        try:
            from ganforge.views.report import write_report
        except ImportError:
            return
        try:
            write_report(self.out)
        except Exception as exc:  # a view must never fail a finished run
            print(f"ganforge: warning: report not written: {exc}", file=sys.stderr)

    def _schedule_lr(self, total: int | None, deadline: float | None) -> None:
        """Learning-rate schedule of the game (e.g. CycleGAN's linear decay), as a factor on
        the configured rates from the fraction of the budget done (steps or minutes)."""
        if total:
            progress: float | None = self.step / total
        elif deadline is not None:
            progress = 1.0 - max(0.0, deadline - time.monotonic()) / (self.cfg.minutes * 60)
        else:
            progress = None
        scale = self.game.lr_scale(progress)
        if scale != getattr(self, "_lr_scale", None):
            self._lr_scale = scale
            for opt, base in ((self.opt_g, self.cfg.lr_g), (self.opt_d, self.cfg.lr_d)):
                for group in opt.param_groups:
                    group["lr"] = base * scale

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

    def _bad_step(self, bad_step: torch.Tensor) -> int:
        """The step of the first non-finite loss (-1: none), the same on every rank."""
        return int(distributed.agree(self.dist, [float(bad_step)], self.device)[0])

    def _check_finite(self, bad_step: torch.Tensor) -> None:
        bad = self._bad_step(bad_step)
        if bad < 0 and self.cfg.on_nan == "stop":
            for p in self.game.parameters():
                if not torch.isfinite(p).all():
                    bad = self.step
                    break
        if bad >= 0 and self.cfg.on_nan == "stop":
            good = self.last_checkpoint.name if self.last_checkpoint else "none (no checkpoint yet)"
            raise Diverged(
                f"non-finite loss at step {bad}; stopped. Last good checkpoint: {good} in "
                f"{self.ckpt_dir} (kept). Try a lower learning rate or --set on_nan=skip"
            )

    def _log(self, acc, n, bad_step, elapsed, interval, images) -> dict[str, Any]:
        if self.dist.enabled:  # the logged losses are means over all ranks
            keys = sorted(acc)
            means = distributed.agree_mean(self.dist, torch.stack([acc[k] for k in keys]))
            acc = dict(zip(keys, means, strict=True))
        values = {k: (v / n).item() for k, v in acc.items()}
        line = {
            "step": self.step,
            "epoch": round(self.batches.epochs_done, 4),
            "images_per_sec": round(images / interval, 2) if interval > 0 else 0.0,
            "elapsed": round(self.wall_before + elapsed, 3),
        }
        line.update({k: round(v, 6) if math.isfinite(v) else str(v) for k, v in values.items()})
        self._write_metrics(line)
        if self.cfg.on_nan == "stop" and self._bad_step(bad_step) >= 0:
            self._check_finite(bad_step)
        return line

    def _write_metrics(self, line: dict[str, Any]) -> None:
        if not self.dist.is_main:
            return
        with open(self.out / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps(line) + "\n")
        if self.tb is not None:
            for key, value in line.items():
                if key != "step" and isinstance(value, int | float):
                    self.tb.add_scalar(key, value, self.step)
            self.tb.flush()

    def _tensorboard(self):
        """A SummaryWriter in RUN/tensorboard when the tensorboard package is installed."""
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError(
                "tensorboard=true needs the tensorboard package: pip install 'ganforge[tensorboard]'"
            ) from None
        return SummaryWriter(str(self.out / "tensorboard"))

    def _evaluate(self) -> None:
        """Fréchet distance of the current sampler on ``eval_samples`` samples; keeps ``best``."""
        from ganforge.metrics.during_training import evaluate_generator

        G = self.sampler()
        was_training = G.training
        G.eval()
        try:
            scores = evaluate_generator(self)
        finally:
            G.train(was_training)
        if not self.dist.is_main or not scores:
            return
        self._write_metrics(
            {
                "step": self.step,
                "epoch": round(self.batches.epochs_done, 4),
                **{f"eval_{k}": v for k, v in scores.items()},
            }
        )
        fid = scores.get("fid")
        if fid is not None and (self.best is None or fid < self.best["fid"]):
            self.best = {"step": self.step, "fid": fid}
            ckpt.save_checkpoint(self.ckpt_dir / "best.safetensors", self.state())
            self._write_status("running", {"best": self.best})

    def _sample_schedule(self, total: int | None) -> set[int]:
        if self.cfg.sample_every:
            end = total or 10**9
            return (
                set(range(self.cfg.sample_every, end + 1, self.cfg.sample_every))
                if total
                else _Every(self.cfg.sample_every)
            )
        if total:
            return {max(1, round(total * k / 10)) for k in range(1, 11)}
        return set()

    def _sample_due(self, deadline: float | None, t0: float) -> bool:
        """For time budgets: one grid per tenth of the budget."""
        if deadline is None or self.cfg.sample_every or self.cfg.steps or self.cfg.epochs:
            return False
        frac = (time.monotonic() - t0) / (deadline - t0)
        k = getattr(self, "_next_tenth", 1)
        if frac >= k / 10:
            self._next_tenth = k + 1
            return True
        return False

    def _progress_bar(self, total: int | None):
        if not self.progress or not self.dist.is_main:
            return None
        from tqdm import tqdm

        return tqdm(
            total=total, initial=self.step, unit="step", dynamic_ncols=True, desc=self.cfg.recipe
        )


def _one_line(exc: BaseException) -> str:
    """An exception as run.json's one-line ``error``."""
    first = next((ln for ln in str(exc).splitlines() if ln.strip()), "")
    if isinstance(exc, GanforgeError):
        return first
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {first}"


def _num(value: Any, digits: int = 4) -> str:
    """A logged value for the console; non-finite values are logged as strings ('nan')."""
    return f"{value:.{digits}f}" if isinstance(value, int | float) else str(value)


class _Every:
    """A set-like 'every n-th step' for open-ended budgets."""

    def __init__(self, n: int):
        self.n = n

    def __contains__(self, step: int) -> bool:
        return step % self.n == 0
