"""The lines ``train`` prints about its budget: a header at the start, time left while running.

A run with ``--minutes`` has no step total, so without these lines a user sees neither what
the run will do nor how long it still has (the progress bar shows it on a terminal; these
serve logs and other non-terminal output).
"""

from __future__ import annotations

import time
from pathlib import Path


def budget_text(steps: int | None, minutes: float, now: float | None = None) -> str:
    """ "500 steps", "5 minutes (until 14:05)", or both with "whichever comes first"."""
    parts = []
    if steps:
        parts.append(f"{steps} steps")
    if minutes:
        until = time.strftime("%H:%M", time.localtime((now or time.time()) + minutes * 60))
        parts.append(f"{minutes:g} minute{'s' if minutes != 1 else ''} (until {until})")
    if not parts:
        return "an open-ended budget"
    return " or ".join(parts) + (", whichever comes first" if len(parts) > 1 else "")


def start_line(
    recipe: str,
    data_name: str,
    steps: int | None,
    minutes: float,
    out: str | Path,
    step: int = 0,
) -> str:
    """The header: what trains on what, for how long, into which folder."""
    resumed = f", resuming at step {step}" if step else ""
    return (
        f"ganforge: training {recipe} on {data_name} for {budget_text(steps, minutes)}"
        f"{resumed} into {out}"
    )


def time_left(deadline: float | None, now: float) -> str:
    """ "  4:05 left" for a time budget (minutes:seconds), "" without one."""
    if deadline is None:
        return ""
    left = max(0, round(deadline - now))
    return f"  {left // 60}:{left % 60:02d} left"
