"""``torch.compile`` for the players' forward passes, with a clean fallback to eager mode.

``compile_forward(module)`` replaces ``module.forward`` by a wrapper that runs the compiled
forward. Compilation happens lazily, at the first call (the first training step); if it
raises (no C++ compiler, an unsupported operator, a backend bug), the wrapper prints one
warning line, switches that module to eager mode for good and re-runs the call eagerly. A
failure that is a genuine error of the model is raised again by the eager call, so nothing is
hidden. Parameters and buffers are untouched: ``state_dict`` keys and checkpoints are the same
with and without compilation, and a ``deepcopy`` of the module (an EMA copy) runs eagerly.
"""

from __future__ import annotations

import sys
from typing import Any

import torch
from torch import nn


class CompiledForward:
    """The callable put in ``module.forward``: compiled first, eager after any failure."""

    def __init__(self, module: nn.Module, name: str, **options: Any):
        self.module, self.name, self.options = module, name, options
        self.eager = type(module).forward.__get__(module)
        self.compiled: Any = None
        self.failed = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.failed:
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


NEEDS_DOUBLE_BACKWARD = ("gp", "gp-one-sided", "slope", "r1")


def compile_players(game: nn.Module, cfg: Any) -> list[str]:
    """Compile G's and D's forward passes (``cfg.compile``); returns the names compiled.

    D is left eager when its penalty differentiates through a gradient (gp, slope, r1):
    compiled graphs do not support double backward. Players held in a ``ModuleDict``
    (two generators, two critics) are compiled one by one.
    """
    names: list[str] = []
    players = {"G": game.G}
    if cfg.penalty == "none" or not cfg.penalty_weight or cfg.penalty not in NEEDS_DOUBLE_BACKWARD:
        players["D"] = game.D
    for name, module in players.items():
        parts = module.items() if isinstance(module, nn.ModuleDict) else [(None, module)]
        for key, part in parts:
            label = name if key is None else f"{name}.{key}"
            compile_forward(part, label)
            names.append(label)
    return names
