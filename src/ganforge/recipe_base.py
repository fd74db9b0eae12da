"""What a recipe is: a named, documented set of overrides on the config, with its source.

The registry of recipes is :mod:`ganforge.recipes`; family modules (``recipes_*.py``) hold
tuples of :class:`Recipe` that it registers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ganforge.config import Config


@dataclass(frozen=True)
class Recipe:
    name: str
    summary: str
    source: str
    overrides: dict[str, Any] = field(default_factory=dict)

    def config(self, **extra: Any) -> Config:
        return Config(recipe=self.name).with_overrides({**self.overrides, **extra})
