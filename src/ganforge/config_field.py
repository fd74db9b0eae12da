"""How a config key is declared: a dataclass field with its help text, choices and bounds."""

from __future__ import annotations

from collections.abc import Callable
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


def acting_with_game(
    games: str | tuple[str, ...], keys: tuple[str, ...], where: str | None = None
) -> dict[str, tuple[Callable[[Any], bool], str]]:
    """``IDLE_UNLESS`` rules (``config_rules``) for ``keys`` that act only when the config's
    game is one of ``games``; ``where`` are the words of the refusal (default "with game=A or
    B")."""
    games = (games,) if isinstance(games, str) else games
    where = where or "with game=" + " or ".join(games)
    return {key: (lambda c: c.game in games, where) for key in keys}
