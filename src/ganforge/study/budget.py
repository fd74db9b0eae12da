"""Budgets that mean the same for every recipe: wall time, generator steps, images shown to D,
or floating-point operations.

A budget is a number and a unit: ``10m`` (also ``90s``, ``1.5h``), ``2000steps``, ``1Mimg``
(images shown to D, i.e. ``steps * batch_size * d_steps``), ``5e13flop``. ``img`` and ``flop``
take the SI prefixes k, M, G, T, P. The default is :data:`DEFAULT_BUDGET`, a FLOP budget: it
means the same on every machine (wall time does not) and it charges each recipe for what its
step costs (a generator step does not: WGAN-GP's step holds 5 critic updates and a double
backward pass, about 6x a DCGAN step).

FLOPs per step are counted once per distinct cell configuration with torch's
``FlopCounterMode`` over whole training steps through the public training function: the
difference between a 2-step and a 1-step run (everything around the loop, the final grid,
the checkpoint, is the same in both and cancels), so all D steps, the G step, both backward
passes and penalties' double backward are counted. The counter counts matrix products and
convolutions (forward and backward), which dominate; elementwise work is not counted.
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch.utils.flop_counter import FlopCounterMode

from ganforge.errors import GanforgeError

DEFAULT_BUDGET = "5e13flop"
KINDS = ("minutes", "steps", "images", "flops")
_PREFIX = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
_TIME = {"s": 1 / 60, "sec": 1 / 60, "m": 1.0, "min": 1.0, "h": 60.0}
_FORM = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]+)\s*$")
_HINT = "use e.g. 10m, 2000steps, 1Mimg or 5e13flop"


@dataclass(frozen=True)
class Budget:
    """``amount`` of ``kind`` (minutes, steps, images or flops), as written in ``text``."""

    kind: str
    amount: float
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "amount": self.amount, "text": self.text}


def parse_budget(text: str) -> Budget:
    """``10m`` / ``2000steps`` / ``1Mimg`` / ``5e13flop`` -> Budget; one-line error otherwise."""
    match = _FORM.match(str(text))
    if not match:
        raise GanforgeError(f"bad --budget {text!r}: a number and a unit; {_HINT}")
    value, unit = float(match.group(1)), match.group(2)
    kind = amount = None
    if unit in _TIME:
        kind, amount = "minutes", value * _TIME[unit]
    elif unit.lower() in ("step", "steps"):
        kind, amount = "steps", value
    else:
        for base, name in (("img", "images"), ("flop", "flops")):
            for tail in (base, base + "s"):
                head = unit[: -len(tail)] if unit.endswith(tail) else None
                if head is not None and head in _PREFIX:
                    kind, amount = name, value * _PREFIX[head]
    if kind is None:
        raise GanforgeError(f"bad --budget {text!r}: unknown unit {unit!r}; {_HINT}")
    if not amount > 0 or not math.isfinite(amount):
        raise GanforgeError(f"bad --budget {text!r}: it must be > 0")
    if kind == "steps" and not float(amount).is_integer():
        raise GanforgeError(f"bad --budget {text!r}: steps must be a whole number")
    return Budget(kind, amount, str(text).strip())


def budget_overrides(
    budget: Budget, flops_per_step: int, batch_size: int, d_steps: int
) -> dict[str, Any]:
    """The config budget of one cell: ``minutes`` for wall time, else ``steps`` (rounded down
    for images and FLOPs, so no cell gets more than the budget; at least one step)."""
    if budget.kind == "minutes":
        return {"minutes": budget.amount}
    if budget.kind == "steps":
        return {"steps": int(budget.amount)}
    per_step = batch_size * d_steps if budget.kind == "images" else flops_per_step
    if per_step <= 0:
        raise GanforgeError(f"cannot turn --budget {budget.text} into steps: 0 {budget.kind}/step")
    return {"steps": max(1, int(budget.amount // per_step))}


class _GlobalOnly:
    """Stands in for FlopCounterMode's module tracker: its backward hooks break
    ``torch.autograd.grad`` (the gradient penalty's double backward); totals need no modules."""

    parents = frozenset({"Global"})

    def __enter__(self) -> _GlobalOnly:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs (matrix products and convolutions, forward and backward) that ``fn()`` runs."""
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _GlobalOnly()
    with counter:
        fn()
    return int(counter.get_total_flops())


# config keys that add work outside the step, or set the budget: neutral while counting
_NEUTRAL = {"report": False, "sample_every": 1_000_000, "eval_every": 0, "tensorboard": False}
_DROPPED = ("steps", "epochs", "minutes", "eval_samples", "checkpoint_every")


def count_step_flops(
    train: Callable[..., Any], recipe: str, overrides: dict[str, Any], work: Path
) -> int:
    """FLOPs of one training step of ``recipe`` with ``overrides``: ``train(recipe, out,
    steps=k, ...)`` counted for k = 2 and k = 1, and the difference taken (see the module)."""
    base = {k: v for k, v in overrides.items() if k not in _DROPPED}
    base.update(_NEUTRAL)
    totals = []
    try:
        for steps in (1, 2):
            out = Path(work) / f"count-{steps}"
            shutil.rmtree(out, ignore_errors=True)
            totals.append(count_flops(lambda o=out, s=steps: train(recipe, o, steps=s, **base)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return max(1, totals[1] - totals[0])
