"""How a config key is declared: a dataclass field with its help text, choices and bounds."""

from __future__ import annotations

from dataclasses import field
from typing import Any


def _f(default: Any, help: str, choices: tuple | None = None, minimum: float | None = None):
    """A config field: ``help`` is shown by ``--help-keys``; ``choices`` (a closed set) and
    ``minimum`` are checked by ``Config.validate``."""
    meta = {"help": help}
    if choices is not None:
        meta["choices"] = choices
    if minimum is not None:
        meta["minimum"] = minimum
    return field(default=default, metadata=meta)
