"""What a hook is: code the training loop calls around its steps (Keras-style callbacks).

The loop (:class:`~ganforge.training.loop.Loop`) owns the step itself, the optimisers, EMA,
checkpoints, resume, signals and the divergence guard; everything watched or written around it
(logging, progress, sample grids, evaluation, reports, schedules) is a hook. The loop calls,
in this order:

- ``on_start(loop)`` once, before the first step of this call to ``run``;
- per step: ``before_step(loop, step)`` with ``step`` = steps done so far (the step about to
  run is ``step + 1``), then the step, then ``on_log(loop, step, logs)`` when a log line is due
  (``logs`` is the line written to ``metrics.jsonl``), then ``on_step(loop, step)`` with
  ``step`` = steps done including this one; a checkpoint follows when one is due;
- ``on_end(loop, summary)`` once, after a run that finished (the final checkpoint is written and
  ``run.json`` says finished);
- ``on_close(loop)`` always last, also after an error or an interrupt (release resources).

Hooks may also receive what other hooks produce through the loop: ``on_metrics(loop, step,
values)`` for metric lines outside the step's logs (evaluation) and ``on_image(loop, step,
name, image)`` for pictures (an (H, W, C) uint8 array). An exception raised by a hook stops
the run: ``run.json`` records it as failed, and the exception reaches the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ganforge.training.outcome import Summary

# The running training.loop.Loop. Not imported: the loop imports this module, and a hook may
# run under any loop that calls these methods.
Loop = Any


class Hook:
    """Base class: every method does nothing; subclasses override the moments they need."""

    def on_start(self, loop: Loop) -> None:
        """Before the first step of a call to ``loop.run()``."""

    def before_step(self, loop: Loop, step: int) -> None:
        """Before a step; ``step`` steps are done."""

    def on_log(self, loop: Loop, step: int, logs: dict[str, Any]) -> None:
        """A training log line (step means of the losses and logs since the last line)."""

    def on_metrics(self, loop: Loop, step: int, values: dict[str, Any]) -> None:
        """A metric line that is not a step's logs (e.g. evaluation during training)."""

    def on_image(self, loop: Loop, step: int, name: str, image: Any) -> None:
        """A picture (an (H, W, C) uint8 array) another hook made at ``step``."""

    def on_step(self, loop: Loop, step: int) -> None:
        """After a step and its log line; ``step`` steps are done."""

    def on_end(self, loop: Loop, summary: Summary) -> None:
        """After a run that finished."""

    def on_close(self, loop: Loop) -> None:
        """Last, whatever happened (also after an error or an interrupt)."""


class Hooks(Hook):
    """Several hooks as one, called in their order."""

    def __init__(self, hooks: Sequence[Hook] = ()):
        self.hooks = list(hooks)

    def on_start(self, loop: Loop) -> None:
        for h in self.hooks:
            h.on_start(loop)

    def before_step(self, loop: Loop, step: int) -> None:
        for h in self.hooks:
            h.before_step(loop, step)

    def on_log(self, loop: Loop, step: int, logs: dict[str, Any]) -> None:
        for h in self.hooks:
            h.on_log(loop, step, logs)

    def on_metrics(self, loop: Loop, step: int, values: dict[str, Any]) -> None:
        for h in self.hooks:
            h.on_metrics(loop, step, values)

    def on_image(self, loop: Loop, step: int, name: str, image: Any) -> None:
        for h in self.hooks:
            h.on_image(loop, step, name, image)

    def on_step(self, loop: Loop, step: int) -> None:
        for h in self.hooks:
            h.on_step(loop, step)

    def on_end(self, loop: Loop, summary: Summary) -> None:
        for h in self.hooks:
            h.on_end(loop, summary)

    def on_close(self, loop: Loop) -> None:
        """Every hook's, even when one raises (the first exception is raised after)."""
        error: BaseException | None = None
        for h in self.hooks:
            try:
                h.on_close(loop)
            except Exception as exc:  # noqa: BLE001 - the others still release theirs
                error = error or exc
        if error is not None:
            raise error
