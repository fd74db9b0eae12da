"""``torch.compile`` for the players' forward passes, with a clean fallback to eager mode.

``compile_forward(module)`` replaces ``module.forward`` by a wrapper that runs the compiled
forward. Compilation happens lazily, at the first call (the first training step); if it
raises (no C++ compiler, an unsupported operator, a backend bug), the wrapper prints one
warning line, switches that module to eager mode for good and re-runs the call eagerly. A
failure that is a genuine error of the model is raised again by the eager call, so nothing is
hidden. Where compiling works but does not help, :class:`CompileTrial` notices: it times
training steps with the compiled and the eager forwards alternately and keeps the faster.
Parameters and buffers are untouched: ``state_dict`` keys and checkpoints are the same with
and without compilation, and a ``deepcopy`` of the module (an EMA copy) runs eagerly.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from ganforge.penalties import D_PENALTIES, G_PENALTIES


class CompiledForward:
    """The callable put in ``module.forward``: compiled first, eager after any failure."""

    def __init__(self, module: nn.Module, name: str, **options: Any):
        self.module, self.name, self.options = module, name, options
        self.eager = type(module).forward.__get__(module)
        self.compiled: Any = None
        self.failed = False
        self.use_eager = False  # set by CompileTrial: eager for a timed step, or for good

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.failed or self.use_eager:
            return self.eager(*args, **kwargs)
        try:
            if self.compiled is None:
                self.compiled = torch.compile(self.eager, **self.options)
            return self.compiled(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any compiler failure means: run eagerly
            self.failed = True
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            print(
                f"ganforge: warning: torch.compile failed for {self.name} "
                f"({type(exc).__name__}: {first}); running it eagerly",
                file=sys.stderr,
                flush=True,
            )
            return self.eager(*args, **kwargs)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        # the copy of the module is already in memo: give it its own eager forward
        new = memo.get(id(self.module))
        return type(new).forward.__get__(new) if new is not None else self.eager


def compile_forward(module: nn.Module, name: str, **options: Any) -> CompiledForward:
    """Make ``module``'s forward compiled (lazily, with fallback); returns the wrapper."""
    wrapper = CompiledForward(module, name, **options)
    module.forward = wrapper  # type: ignore[method-assign]
    return wrapper


def uncompile(module: nn.Module) -> None:
    """Undo :func:`compile_forward`: the class's own forward again."""
    if isinstance(module.__dict__.get("forward"), CompiledForward):
        del module.forward


def compile_players(game: nn.Module, cfg: Any) -> list[CompiledForward]:
    """Compile G's and D's forward passes (``cfg.compile``); returns their wrappers.

    A player is left eager when its regulariser differentiates through a gradient (the
    ``double_backward`` entries of ``penalties.D_PENALTIES`` and ``G_PENALTIES``): compiled
    graphs do not support double backward. Players held in a ``ModuleDict`` (two generators,
    two critics) are compiled one by one.
    """
    wrappers: list[CompiledForward] = []
    players: dict[str, nn.Module] = {}
    g_pen = G_PENALTIES.get(cfg.g_penalty)
    if g_pen is None or not cfg.g_penalty_weight or not g_pen.double_backward:
        players["G"] = game.G
    d_pen = D_PENALTIES.get(cfg.penalty)
    if d_pen is None or not cfg.penalty_weight or not d_pen.double_backward:
        players["D"] = game.D
    for name, module in players.items():
        parts = module.items() if isinstance(module, nn.ModuleDict) else [(None, module)]
        for key, part in parts:
            label = name if key is None else f"{name}.{key}"
            wrappers.append(compile_forward(part, label))
    return wrappers


class CompileTrial:
    """Keep ``torch.compile`` only where it makes training steps faster.

    The first ``warmup`` steps run compiled (they include the compilation itself and are not
    timed). The next ``2 * steps`` steps alternate compiled and eager forwards; both compute
    the same function of the same parameters, so training goes on normally meanwhile. Then the
    medians decide: compiled stays only if its median step is faster. A run on several
    processes decides on the slowest rank's medians, so every rank takes the same decision.
    ``sync`` waits for the device before each clock reading (CUDA runs asynchronously).
    """

    def __init__(
        self,
        wrappers: Sequence[CompiledForward],
        steps: int,
        *,
        warmup: int = 2,
        sync: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.wrappers, self.steps, self.warmup = list(wrappers), steps, warmup
        self.sync, self.clock = sync, clock
        self.times: dict[str, list[float]] = {"compiled": [], "eager": []}
        self.n, self._t = 0, 0.0
        self.decision: str | None = None

    def mode(self) -> str:
        """Which forwards the current step uses: "compiled" or "eager"."""
        if self.n < self.warmup:
            return "compiled"
        return ("compiled", "eager")[(self.n - self.warmup) % 2]

    def start_step(self) -> None:
        eager = self.mode() == "eager"
        for w in self.wrappers:
            w.use_eager = eager
        self.sync()
        self._t = self.clock()

    def end_step(self) -> bool:
        """Record the step; True once both modes have ``steps`` timings (time to decide)."""
        self.sync()
        dt = self.clock() - self._t
        if self.n >= self.warmup:
            self.times[self.mode()].append(dt)
        self.n += 1
        return len(self.times["eager"]) >= self.steps

    def medians(self) -> tuple[float, float]:
        """Median seconds per step, compiled and eager."""
        return statistics.median(self.times["compiled"]), statistics.median(self.times["eager"])

    def decide(self, compiled_s: float, eager_s: float) -> str:
        """Apply the decision for these medians; returns the one-line report."""
        keep = compiled_s < eager_s
        self.decision = "compiled" if keep else "eager"
        for w in self.wrappers:
            w.use_eager = not keep
            if not keep:
                w.compiled = None  # free the compiled graphs
        figures = (
            f"{1000 * compiled_s:.1f} ms/step compiled vs {1000 * eager_s:.1f} eager, "
            f"medians of {len(self.times['eager'])} steps each"
        )
        if keep:
            return f"ganforge: torch.compile kept ({figures})"
        return f"ganforge: torch.compile did not help ({figures}); running eagerly"
