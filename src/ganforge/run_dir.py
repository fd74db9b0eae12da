"""The run directory: what a run writes and how it is found again.

RUN/config.json      the full resolved config
RUN/run.json         status (running/finished/interrupted/diverged), data shape, classes, timings
RUN/metrics.jsonl    one JSON line per logging interval
RUN/samples/         step-XXXXXX.png grids of a fixed latent batch
RUN/samples.png      the final grid
RUN/checkpoints/     step-XXXXXX.safetensors (last K) and best.safetensors
RUN/.lock            held (flock) by the process training the run; holds its pid

It also owns the one rule for output folders (:func:`free_folder`, :func:`default_run_out`,
:func:`result_folder`): a default name that is taken gets a suffix, a folder the user names is
never written over silently. This module is the ground floor: it imports only the standard
library, ``errors`` and ``config``.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganforge.errors import CheckpointError, GanforgeError

if TYPE_CHECKING:
    from ganforge.config import Config


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


def ensure_writable(folder: Path, target: str) -> None:
    """Create ``folder`` and prove a file can be written there (a temporary file, removed at
    once), so a read-only or full place is refused before any work, naming ``target``. An
    actual write, not os.access: root passes every permission check but not a read-only mount.
    """
    above = Path(folder)
    while not above.exists() and above != above.parent:
        above = above.parent
    if not above.is_dir():
        raise CheckpointError(f"cannot write {target}: {above} is a file, not a folder")
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".ganforge-probe-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise CheckpointError(f"cannot write {target}: {exc.strerror or exc}") from None


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


def is_run_folder(out: Path, entries: list[Path]) -> bool:
    """Whether ``out`` is a ganforge run that ``--force`` may replace: it has both config.json
    and run.json, or it holds nothing but a run.json of ours (a run stopped in its first
    moments, before it wrote anything else)."""
    if (out / "config.json").is_file() and (out / "run.json").is_file():
        return True
    if [p.name for p in entries] != ["run.json"]:
        return False
    try:
        status = json.loads((out / "run.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(status, dict) and {"status", "recipe", "started"} <= status.keys()


def prepare_new(out: Path, force: bool) -> None:
    """Create ``out`` for a new run and lock it (:func:`lock_run`); refuse a non-empty one
    unless ``force``, and one another process is training.

    With ``force`` only a previous *ganforge run* is replaced; any other non-empty folder is
    refused, so user data is never deleted. The lock file itself is kept while the rest is
    removed, so the lock is never dropped while replacing.
    """
    if out.exists() and not out.is_dir():
        raise CheckpointError(f"--out {out} exists and is not a folder")
    took = out.is_dir() and (out / LOCK_NAME).exists() and lock_run(out)
    try:
        entries = [p for p in out.iterdir() if p.name != LOCK_NAME] if out.is_dir() else []
        if entries:
            if not force:
                raise CheckpointError(
                    f"--out {out} exists and is not empty; choose another folder, continue it "
                    f"with --resume {out}, or replace it with --force"
                )
            if not is_run_folder(out, entries):
                raise CheckpointError(
                    f"--force refuses to replace {out}: it holds no config.json and run.json of "
                    "a ganforge run; choose another --out or empty that folder yourself"
                )
            took = lock_run(out) or took
            for entry in entries:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CheckpointError(f"cannot create --out {out}: {exc.strerror or exc}") from None
        lock_run(out)
    except BaseException:
        if took:
            release_run(out)
        raise


# -- the run lock ----------------------------------------------------------------------------
LOCK_NAME = ".lock"
_HELD: dict[str, int] = {}  # resolved run folder -> fd of its locked .lock file


def lock_run(out: Path) -> bool:
    """Take the exclusive lock of the run folder ``out`` (``flock`` on ``out/.lock``, which then
    holds this process's pid) for this process; True if newly taken, False if already held here.

    The kernel drops the lock when the process ends, also on a crash or kill -9, so a stale lock
    cannot block a run. Another process holding it: CheckpointError naming its pid. A folder we
    cannot write in: CheckpointError with the reason (this is also the writability probe).
    """
    key = os.path.realpath(out)
    if key in _HELD:
        return False
    path = Path(out) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise CheckpointError(f"cannot write in --out {out}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise CheckpointError(f"cannot lock {path}: {exc.strerror or exc}") from None
        holder = _lock_holder(path)
        raise CheckpointError(
            f"{out} is in use by another ganforge process ({holder}); wait for it to finish "
            "or stop it first"
        ) from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    except OSError as exc:
        os.close(fd)
        raise CheckpointError(f"cannot write in --out {out}: {exc.strerror or exc}") from None
    _HELD[key] = fd
    return True


def release_run(out: Path) -> None:
    """Drop this process's lock on ``out`` (no-op if it holds none); the file stays."""
    fd = _HELD.pop(os.path.realpath(out), None)
    if fd is not None:
        os.close(fd)


def _lock_holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        pid = ""
    return f"pid {pid}" if pid.isdigit() else "pid unknown"


def check_run(path: str | Path) -> Path:
    """``path`` as a Path if it is a run folder (a folder with config.json); else
    CheckpointError saying which of the two it lacks."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path} is not a run directory")
    if not (path / "config.json").is_file():
        raise CheckpointError(f"{path} is not a ganforge run (no config.json)")
    return path


# -- the output-folder rule ------------------------------------------------------------------
def _taken(path: Path) -> bool:
    return path.exists() and (not path.is_dir() or any(path.iterdir()))


def free_folder(default: str | Path) -> Path:
    """``default`` if it is free (absent or an empty folder), else the first free of
    ``default-2``, ``default-3``, ... so a default name never lands on earlier results."""
    out, k = Path(default), 2
    while _taken(out):
        out, k = Path(f"{default}-{k}"), k + 1
    return out


def default_run_out(cfg: Config) -> Path:
    """``runs/RECIPE-DATASET-YYYYmmdd-HHMMSS`` (the dataset made path-safe, at most 40
    characters), suffixed by :func:`free_folder` when two runs start in the same second."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = cfg.dataset.replace(":", "-").replace("/", "_").strip("-_")[:40]
    return free_folder(Path("runs") / f"{cfg.recipe}-{name}-{stamp}")


def result_folder(given: str | Path | None, default: str | Path, force: bool) -> Path:
    """Where a result (``result.json`` and its pictures: toy, lab) is written.

    Without ``given``: :func:`free_folder` of ``default``. A ``given`` folder that holds files
    is refused unless ``force`` and it holds an earlier result (``result.json``), whose files
    are then replaced; anything else of the user's is never written over.
    """
    if given is None:
        return free_folder(default)
    out = Path(given)
    if out.exists() and not out.is_dir():
        raise GanforgeError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise GanforgeError(
                f"--out {out} exists and is not empty; choose another folder, or pass --force "
                "to replace an earlier result there"
            )
        if not (out / "result.json").is_file():
            raise GanforgeError(
                f"--out {out} holds no earlier result (result.json); --force replaces only "
                "those, choose another folder"
            )
    return out
