"""RUN/run.json: what a run is doing (running, finished, interrupted, diverged, failed).

Read by ``ganforge runs``, the report and a resume; written atomically (run_dir.write_json) at
the start, at every checkpoint, at a new best evaluation and at the end. Keys already in the
file (``started``, ``best``, ...) are kept unless a newer value is given.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from ganforge.errors import GanforgeError
from ganforge.run_dir import read_json, write_json


def write_status(path: Path, status: str, facts: dict[str, Any]) -> None:
    """Merge ``status``, the process id, the clock and ``facts`` into ``path``."""
    info = read_json(path) if path.exists() else {}
    info.update({"status": status, "pid": os.getpid(), "updated": time.time(), **facts})
    info.setdefault("started", time.time())
    write_json(path, info)


def one_line(exc: BaseException) -> str:
    """An exception as run.json's one-line ``error``."""
    first = next((ln for ln in str(exc).splitlines() if ln.strip()), "")
    if isinstance(exc, GanforgeError):
        return first
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {first}"
