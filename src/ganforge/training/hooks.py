"""The loop-level hooks: the game's LR schedule, the compile trial, metrics.jsonl/TensorBoard and
the console (a progress bar on a terminal, else a line per log interval)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from ganforge.errors import ConfigError
from ganforge.training import distributed
from ganforge.training.announce import start_line, time_left
from ganforge.training.compiled import CompileTrial
from ganforge.training.hook import Hook
from ganforge.training.loop import Loop


class GameSchedule(Hook):
    """The game's learning-rate schedule (``Game.lr_scale``, e.g. CycleGAN's linear decay,
    Zhu et al. 2017): before every step, lr = base lr × scale(fraction of the budget done,
    :meth:`Loop.progress`)."""

    def __init__(self) -> None:
        self.scale: float | None = None

    def before_step(self, loop: Loop, step: int) -> None:
        scale = loop.game.lr_scale(loop.progress())
        if scale != self.scale:
            self.scale = scale
            game, cfg = loop.game, loop.cfg
            for opt, base in (
                (loop.opt_g, cfg.lr_g * game.lazy_ratio("G")),
                (loop.opt_d, cfg.lr_d * game.lazy_ratio("D")),
            ):
                for group in opt.param_groups:
                    group["lr"] = base * scale


class CompileTrialHook(Hook):
    """Times steps with compiled and eager forwards (:class:`CompileTrial`), then keeps the
    faster on every rank (the slowest rank's medians decide) and says which."""

    def __init__(self, trial: CompileTrial):
        self.trial: CompileTrial | None = trial

    def before_step(self, loop: Loop, step: int) -> None:
        if self.trial is not None:
            self.trial.start_step()

    def on_step(self, loop: Loop, step: int) -> None:
        if self.trial is None or not self.trial.end_step():
            return
        trial, self.trial = self.trial, None
        # every rank joins the collective, even one whose compiles all failed
        compiled_s, eager_s = distributed.agree(loop.dist, list(trial.medians()), loop.device)
        if all(w.failed for w in trial.wrappers):
            return  # each failure already printed its warning
        report = trial.decide(compiled_s, eager_s)
        if loop.dist.is_main:
            print(report, file=sys.stderr, flush=True)


class MetricsLog(Hook):
    """RUN/metrics.jsonl (one JSON line per log interval and per evaluation) and, with
    ``tensorboard``, the same scalars and the sample grids in RUN/tensorboard (rank 0 only)."""

    def __init__(self, out: Path, tensorboard: bool = False, is_main: bool = True):
        self.path, self.is_main = Path(out) / "metrics.jsonl", is_main
        self.tb = _summary_writer(Path(out) / "tensorboard") if tensorboard and is_main else None

    def on_log(self, loop: Loop, step: int, logs: dict[str, Any]) -> None:
        self.write(step, logs)

    def on_metrics(self, loop: Loop, step: int, values: dict[str, Any]) -> None:
        self.write(step, values)

    def write(self, step: int, line: dict[str, Any]) -> None:
        if not self.is_main:
            return
        with open(self.path, "a") as fh:
            fh.write(json.dumps(line) + "\n")
        if self.tb is not None:
            for key, value in line.items():
                if key != "step" and isinstance(value, int | float):
                    self.tb.add_scalar(key, value, step)
            self.tb.flush()

    def on_image(self, loop: Loop, step: int, name: str, image: Any) -> None:
        if self.tb is not None:
            self.tb.add_image(name, image, step, dataformats="HWC")

    def on_close(self, loop: Loop) -> None:
        if self.tb is not None:
            self.tb.close()


def _summary_writer(folder: Path) -> Any:
    """A SummaryWriter in ``folder`` when the tensorboard package is installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError(
            "tensorboard=true needs the tensorboard package: pip install 'ganforge[tensorboard]'"
        ) from None
    return SummaryWriter(str(folder))


class Console(Hook):
    """The start line, then a tqdm bar (``progress``) or one stderr line per log interval."""

    def __init__(
        self, data_name: str, progress: bool, notes: tuple[str, ...] = (), is_main: bool = True
    ):
        self.data_name, self.progress, self.notes, self.is_main = (
            data_name,
            progress,
            notes,
            is_main,
        )
        self.bar: Any = None

    def on_start(self, loop: Loop) -> None:
        if not self.is_main:
            return
        cfg = loop.cfg
        header = start_line(
            cfg.recipe, self.data_name, loop.total, cfg.minutes, loop.out, loop.step
        )
        print(header, *self.notes, sep="\n", file=sys.stderr, flush=True)
        if self.progress:
            from tqdm import tqdm

            self.bar = tqdm(
                total=loop.total,
                initial=loop.step,
                unit="step",
                dynamic_ncols=True,
                desc=cfg.recipe,
            )

    def on_log(self, loop: Loop, step: int, logs: dict[str, Any]) -> None:
        now, total = time.monotonic(), loop.total
        if self.bar is not None:
            eta = {}  # a time budget has no step total: show the time left instead
            if total is None and loop.deadline is not None:
                eta["left"] = self.bar.format_interval(max(0.0, loop.deadline - now))
            self.bar.set_postfix(d=_num(logs["d_loss"], 3), g=_num(logs["g_loss"], 3), **eta)
        elif self.is_main:
            print(
                f"step {step}{'/' + str(total) if total else ''}  "
                f"d_loss {_num(logs['d_loss'])}  g_loss {_num(logs['g_loss'])}  "
                f"{logs['images_per_sec']:.0f} img/s{time_left(loop.deadline, now)}",
                file=sys.stderr,
                flush=True,
            )

    def on_step(self, loop: Loop, step: int) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def on_close(self, loop: Loop) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _num(value: Any, digits: int = 4) -> str:
    """A logged value for the console; non-finite values are logged as strings ('nan')."""
    return f"{value:.{digits}f}" if isinstance(value, int | float) else str(value)
