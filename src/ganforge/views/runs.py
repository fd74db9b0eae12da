"""`ganforge runs`: a table of the runs under a folder, with their real status.

A run's ``run.json`` says ``running`` from the moment training starts until it ends; a process
killed with SIGKILL (or a crashed machine) never gets to change it. So ``running`` is believed
only while the process ``pid`` is alive, is not a zombie, and started before the run last wrote
its status (a recycled pid belongs to a younger process). Otherwise the run is ``interrupted``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from ganforge.errors import GanforgeError

STATUSES = ("finished", "running", "interrupted", "diverged")
COLUMNS = (
    ("run", "run"),
    ("recipe", "recipe"),
    ("dataset", "dataset"),
    ("steps", "steps"),
    ("wall", "wall"),
    ("img/s", "images_per_sec"),
    ("best FD", "best_fd"),
    ("status", "status"),
)
SORT_KEYS = {
    "run": "run",
    "name": "run",
    "recipe": "recipe",
    "dataset": "dataset",
    "steps": "steps",
    "wall": "wall_seconds",
    "time": "wall_seconds",
    "ips": "images_per_sec",
    "images_per_sec": "images_per_sec",
    "fd": "best_fd",
    "best_fd": "best_fd",
    "status": "status",
    "started": "started",
    "updated": "updated",
}


def _proc_start_time(pid: int) -> float | None:
    """When process ``pid`` started (Unix time), from /proc; None where /proc is unavailable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = int(fields[19])  # field 22 (starttime), counted after the comm field
        btime = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        return btime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2 :].split()[0]
    except (OSError, ValueError, IndexError):
        return None


def pid_alive(pid: int, since: float | None = None) -> bool:
    """Whether ``pid`` is a live (non-zombie) process that existed at time ``since``."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by someone else
    if _proc_state(pid) in ("Z", "X"):
        return False
    if since is not None:
        start = _proc_start_time(pid)
        if start is not None and start > since + 2.0:  # the pid was recycled
            return False
    return True


def resolve_status(info: dict[str, Any]) -> str:
    """The status to show for a run.json: ``running`` only while its process still runs."""
    status = str(info.get("status", "unknown"))
    if status == "running":
        pid = info.get("pid")
        updated = info.get("updated")
        since = float(updated) if isinstance(updated, int | float) else None
        if not pid_alive(pid, since):
            return "interrupted"
    return status


def _best_fd(run: Path, info: dict[str, Any]) -> float | None:
    best = info.get("best")
    if isinstance(best, dict):
        for key in ("fid", "fd"):
            if isinstance(best.get(key), int | float):
                return float(best[key])
    from ganforge.views.plots import read_metrics

    try:
        rows = read_metrics(run)
    except GanforgeError:
        return None
    values = [
        float(row[key])
        for row in rows
        for key in ("eval_fid", "eval_fd")
        if isinstance(row.get(key), int | float) and math.isfinite(row[key])
    ]
    return min(values) if values else None


def run_summary(run: str | Path) -> dict[str, Any]:
    """One row of the runs table for the run directory ``run``."""
    run = Path(run)
    try:
        info = json.loads((run / "run.json").read_text())
    except (OSError, ValueError):
        raise GanforgeError(f"{run} has no readable run.json") from None
    if not isinstance(info, dict):
        raise GanforgeError(f"{run}/run.json is not a JSON object")
    return {
        "run": run.name,
        "path": str(run),
        "recipe": info.get("recipe"),
        "dataset": info.get("dataset"),
        "steps": info.get("steps"),
        "wall_seconds": info.get("wall_seconds"),
        "images_per_sec": info.get("images_per_sec"),
        "best_fd": _best_fd(run, info),
        "status": resolve_status(info),
        "recorded_status": info.get("status"),
        "started": info.get("started"),
        "updated": info.get("updated"),
    }


def find_runs(root: str | Path, depth: int = 2) -> list[Path]:
    """Run directories (holding run.json) at ``root`` or up to ``depth`` levels below it."""
    root = Path(root)
    if not root.is_dir():
        raise GanforgeError(f"{root} is not a folder")
    found: list[Path] = []

    def walk(folder: Path, level: int) -> None:
        if (folder / "run.json").is_file():
            found.append(folder)
            return
        if level >= depth:
            return
        try:
            children = sorted(p for p in folder.iterdir() if p.is_dir())
        except OSError:
            return
        for child in children:
            if not child.name.startswith("."):
                walk(child, level + 1)

    walk(root, 0)
    return found


def list_runs(root: str | Path = "runs", sort: str = "started") -> list[dict[str, Any]]:
    """Rows of :func:`run_summary` for every run under ``root``, sorted by ``sort``.

    Numeric keys sort descending (best throughput first) except ``best_fd`` (lower is better)
    and the times, which go oldest first; runs lacking the key go last.
    """
    key = SORT_KEYS.get(sort)
    if key is None:
        raise GanforgeError(f"bad --sort {sort!r}: choose from {', '.join(sorted(SORT_KEYS))}")
    rows = []
    for path in find_runs(root):
        try:
            rows.append(run_summary(path))
        except GanforgeError:
            continue  # a folder being written right now; not a run yet
    descending = key in ("steps", "wall_seconds", "images_per_sec")

    def order(row: dict[str, Any]):
        value = row.get(key)
        if value is None:
            return (1, 0, "")
        if isinstance(value, int | float):
            return (0, -value if descending else value, "")
        return (0, 0, str(value))

    return sorted(rows, key=order)


def format_wall(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(float(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain aligned text table (one line per run)."""
    if not rows:
        return "no runs found"
    cells = []
    for row in rows:
        line = []
        for _title, key in COLUMNS:
            value = row.get(key)
            if key == "wall":
                text = format_wall(row.get("wall_seconds"))
            elif value is None:
                text = "-"
            elif key == "images_per_sec":
                text = f"{float(value):.0f}"
            elif key == "best_fd":
                text = f"{float(value):.2f}"
            else:
                text = str(value)
            line.append(text)
        cells.append(line)
    titles = [t for t, _ in COLUMNS]
    widths = [max(len(t), *(len(c[i]) for c in cells)) for i, t in enumerate(titles)]
    numeric = {"steps", "wall", "img/s", "best FD"}

    def fmt(values: list[str]) -> str:
        parts = [
            v.rjust(w) if t in numeric else v.ljust(w)
            for v, w, t in zip(values, widths, titles, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([fmt(titles)] + [fmt(c) for c in cells])
