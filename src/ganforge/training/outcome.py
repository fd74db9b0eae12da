"""How a run ends: a :class:`Summary` when it finished, else Diverged or Interrupted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ganforge.errors import GanforgeError


class Diverged(GanforgeError):
    """A non-finite loss or weight stopped the run (on_nan=stop); exit code 3."""

    exit_code = 3


class Interrupted(GanforgeError):
    """SIGINT/SIGTERM: the run saved a checkpoint and stopped; exit code 128 + signal."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum


@dataclass
class Summary:
    """A finished run: its folder, steps, speed of this call, total wall time, last losses."""

    run: str
    steps: int
    images_per_sec: float
    wall_seconds: float
    d_loss: float | None
    g_loss: float | None
    status: str = "finished"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)
