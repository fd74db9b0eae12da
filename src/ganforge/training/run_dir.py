"""The run directory: what a run writes and how it is found again.

RUN/config.json      the full resolved config
RUN/run.json         status (running/finished/interrupted/diverged), data shape, classes, timings
RUN/metrics.jsonl    one JSON line per logging interval
RUN/samples/         step-XXXXXX.png grids of a fixed latent batch
RUN/samples.png      the final grid
RUN/checkpoints/     step-XXXXXX.safetensors (last K) and best.safetensors
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ganforge.errors import CheckpointError


def file_mode() -> int:
    """The mode ``open()`` gives a new file under the user's umask (0o644 under umask 022).

    ``tempfile.mkstemp`` creates files owner-only (0o600); files renamed from one into place
    (run files, checkpoints, downloads) get this mode instead, like any other file the user
    writes.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no other way to read it: set and restore at once
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(
    path: Path, data: bytes, failure: str, durable: bool = False, what: str = ""
) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``, so a
    crash leaves either the old file or the new one, never half of one. ``durable`` also
    fsyncs the file and the folder (checkpoints). On OSError the temporary file is removed
    and CheckpointError("could not write WHAT PATH: REASON" + FAILURE) is raised."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise CheckpointError(
            f"could not write {what}{path}: {exc.strerror or exc}{failure}"
        ) from None
    if durable:
        _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json(path: Path, data: Any) -> None:
    """Atomic JSON write (so a crash never leaves half a config or status)."""
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    write_atomic(path, text.encode(), " (disk full?); the previous version is intact")


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path} is missing: is {path.parent} a ganforge run?") from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from None


def prepare_new(out: Path, force: bool) -> None:
    """Create ``out`` for a new run; refuse a non-empty one unless ``force``.

    With ``force`` only a previous *ganforge run* is replaced; any other non-empty folder is
    refused, so user data is never deleted.
    """
    if out.exists() and not out.is_dir():
        raise CheckpointError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise CheckpointError(
                f"--out {out} exists and is not empty; choose another folder, continue it with "
                f"--resume {out}, or replace it with --force"
            )
        if not (out / "config.json").is_file() or not (out / "run.json").is_file():
            raise CheckpointError(
                f"--force refuses to replace {out}: it is not a ganforge run folder"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def check_run(path: Path) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path} is not a run directory")
    if not (path / "config.json").is_file():
        raise CheckpointError(f"{path} is not a ganforge run (no config.json)")
    return path
