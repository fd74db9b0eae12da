"""What is watched and written around a training run, as hooks of the training loop.

- :class:`Grids`: the fixed-input sample grid at ``sample_every`` steps (default: at each tenth
  of the budget) in RUN/samples/, and RUN/samples.png at the end; the collapse warning.
- :class:`Evaluation`: Fréchet distance every ``eval_every`` steps (and at the end) into
  metrics.jsonl, and RUN/checkpoints/best.safetensors at each new lowest value.
- :class:`Report`: RUN/report.html and RUN/timelapse.gif once the run finished (``report``).

``api.train`` and ``api.resume`` compose them with :func:`view_hooks`. The training loop knows
none of them: they see it only through the :class:`~ganforge.training.hook.Hook` calls.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from ganforge.config import Config
from ganforge.errors import GanforgeError
from ganforge.metrics.during_training import evaluate_generator
from ganforge.superres_hooks import superres_hooks
from ganforge.training import checkpoint as ckpt
from ganforge.training.collapse import CollapseWatch, watch_for
from ganforge.training.hook import Hook
from ganforge.training.loop import Loop
from ganforge.training.outcome import Summary
from ganforge.views.grids import make_grid, write_grid


class Grids(Hook):
    """Sample grids of the sampler (EMA G if enabled) on the game's fixed inputs."""

    def __init__(self) -> None:
        self.fixed: dict[str, torch.Tensor] | None = None
        self.nrow = 8
        self.sample_at: Any = set()
        self.next_tenth = 1  # time budgets: the next tenth of the budget to draw a grid at
        self.watch: CollapseWatch | None = None

    def on_start(self, loop: Loop) -> None:
        if loop.out is None:
            raise GanforgeError("sample grids need a run folder: this loop has none")
        if self.fixed is None:
            n, self.nrow = loop.game.grid_shape()
            self.fixed = loop.game.fixed_inputs(n, loop.cfg.seed + 1, loop.device, grid=True)
        self.sample_at = _schedule(loop.cfg.sample_every, loop.total)
        # A run resumed under a time budget goes on from the tenth it had reached.
        self.next_tenth = int((loop.progress() or 0.0) * 10 + 1e-9) + 1

    def on_step(self, loop: Loop, step: int) -> None:
        if loop.dist.is_main and (step in self.sample_at or self._tenth_due(loop)):
            self.save(loop, _samples(loop) / f"step-{step:06d}.png", watch=True)

    def on_end(self, loop: Loop, summary: Summary) -> None:
        if not loop.dist.is_main:
            return
        last = _samples(loop) / f"step-{loop.step:06d}.png"
        if not last.exists():
            self.save(loop, last, watch=True)
        self.save(loop, _samples(loop).parent / "samples.png", watch=False)

    def save(self, loop: Loop, path: Path, watch: bool) -> None:
        """The grid at ``path``; ``watch``: also the collapse check and TensorBoard's image."""
        G = loop.sampler()
        was_training = G.training
        G.eval()
        try:
            images = loop.game.render(G, self.fixed)
        finally:
            G.train(was_training)
        grid = make_grid(images, self.nrow)
        write_grid(grid, path)
        if not watch:
            return
        self.watch = self.watch or watch_for(loop.batches, images)
        if self.watch is not None and (warning := self.watch.check(images, loop.step)):
            print(warning, file=sys.stderr, flush=True)  # once per run: G seems collapsed
        loop.hooks.on_image(loop, loop.step, "samples", grid)

    def _tenth_due(self, loop: Loop) -> bool:
        """For time budgets: one grid per tenth of the whole budget, counted across resumes
        (:meth:`Loop.progress`), so a resumed run's grids go on where the first session's
        stopped instead of starting a new series of ten."""
        cfg = loop.cfg
        if loop.deadline is None or cfg.sample_every or cfg.steps or cfg.epochs:
            return False
        tenth = int((loop.progress() or 0.0) * 10 + 1e-9)
        if tenth >= self.next_tenth:
            self.next_tenth = tenth + 1
            return True
        return False


def _samples(loop: Loop) -> Path:
    return Path(str(loop.out)) / "samples"


def _schedule(every: int, total: int | None) -> Any:
    """The steps to draw a grid at: every ``every`` steps, else each tenth of ``total``."""
    if every:
        return set(range(every, total + 1, every)) if total else _Every(every)
    if total:
        return {max(1, round(total * k / 10)) for k in range(1, 11)}
    return set()


class _Every:
    """A set-like 'every n-th step' for open-ended budgets."""

    def __init__(self, n: int):
        self.n = n

    def __contains__(self, step: int) -> bool:
        return step % self.n == 0


class Evaluation(Hook):
    """FD of the sampler every ``eval_every`` steps and at the end; keeps the best checkpoint."""

    def __init__(self) -> None:
        self.best: dict[str, Any] | None = None  # {"step": s, "fid": v} once evaluation runs

    def on_step(self, loop: Loop, step: int) -> None:
        if not loop.cfg.eval_every or (step % loop.cfg.eval_every and not loop.done):
            return
        G = loop.sampler()
        was_training = G.training
        G.eval()
        try:
            scores = evaluate_generator(loop.cfg, lambda n, seed: _draw(loop, G, n, seed))
        finally:
            G.train(was_training)
        if not loop.dist.is_main or not scores:
            return
        line = {
            "step": step,
            "epoch": round(loop.batches.epochs_done, 4),
            **{f"eval_{k}": v for k, v in scores.items()},
        }
        loop.hooks.on_metrics(loop, step, line)
        fid = scores.get("fid")
        if fid is not None and loop.ckpt_dir and (self.best is None or fid < self.best["fid"]):
            self.best = {"step": step, "fid": fid}
            ckpt.save_checkpoint(loop.ckpt_dir / "best.safetensors", loop.state())
            loop.write_status("running", {"best": self.best})


@torch.no_grad()
def _draw(loop: Loop, G: torch.nn.Module, n: int, seed: int) -> torch.Tensor:
    """``n`` images of ``G`` from the game's fixed inputs of ``seed``, in [-1, 1] on the CPU."""
    images = loop.game.render(G, loop.game.fixed_inputs(n, seed, loop.device))
    return images.clamp(-1, 1).float().cpu()


class Report(Hook):
    """RUN/report.html and RUN/timelapse.gif after a finished run; a failure only warns."""

    def on_end(self, loop: Loop, summary: Summary) -> None:
        if not loop.dist.is_main or loop.out is None:
            return
        try:
            from ganforge.views.attention import ATTENTION_PNG, write_attention_maps
            from ganforge.views.report import write_report
        except ImportError:
            return
        try:
            # attention recipes: where a few query pixels attend, on one sample of the sampler
            write_attention_maps(loop.game, loop.sampler(), Path(str(loop.out)) / ATTENTION_PNG)
            write_report(loop.out)
        except Exception as exc:  # a view must never fail a finished run
            print(f"ganforge: warning: report not written: {exc}", file=sys.stderr)


def view_hooks(cfg: Config) -> list[Hook]:
    """The hooks ``cfg`` asks for: grids always, evaluation with eval_every, the report."""
    hooks: list[Hook] = [*superres_hooks(cfg), Grids()]
    if cfg.eval_every:
        hooks.append(Evaluation())
    if cfg.report:
        hooks.append(Report())
    return hooks
