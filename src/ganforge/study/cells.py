"""Cells: one (recipe, hyper-parameter setting, seed) of a study, trained as an ordinary run
directory ``STUDY/runs/CELL`` and recorded in ``STUDY/cells/CELL.json``.

A process works on a cell only while it holds the cell's claim, an exclusive ``flock`` on
``STUDY/claims/CELL.lock``: two workers or two shards (on machines sharing the folder) never
take the same cell, and the kernel drops the claim when its holder dies, even by SIGKILL, so a
stale claim never blocks a study. A cell's record is written atomically when it ends:
``finished`` (skipped from then on) or ``failed``. An exception in training or scoring is
retried once (status ``crashed`` in between, kept across restarts), then the cell is marked
``failed`` with the error's first line. A cell whose process was killed or stopped is resumed
from its latest checkpoint through the API's resume (exactly, as ``train --resume``).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganforge.errors import GanforgeError
from ganforge.recipes import get_recipe
from ganforge.run_dir import read_json, write_json
from ganforge.study.budget import budget_overrides, count_step_flops, parse_budget
from ganforge.study.hparams import sample_settings
from ganforge.study.spec import StudySpec
from ganforge.training.checkpoint import latest_checkpoint

DONE = ("finished", "failed")
ATTEMPTS = 2  # a crashed cell is tried once more, then marked failed
_STEP = re.compile(r"step-(\d+)\.safetensors$")


@dataclass(frozen=True)
class Cell:
    """Recipe, setting (index of a sampled setting; None = the recipe's own) and seed."""

    recipe: str
    seed: int
    setting: int | None = None

    @property
    def name(self) -> str:
        hp = "" if self.setting is None else f"-h{self.setting:02d}"
        return f"{self.recipe}{hp}-s{self.seed}"


@dataclass(frozen=True)
class Backend:
    """The public functions a cell is trained and scored with (``ganforge.api``'s train,
    resume and evaluate); passed in, so the study sits below the API that composes it."""

    train: Callable[..., Any]
    resume: Callable[..., Any]
    evaluate: Callable[..., dict[str, float]]


def plan_cells(spec: StudySpec) -> list[Cell]:
    """Every cell of the study, in a fixed order (recipe, setting, seed)."""
    settings = list(range(spec.sample_hparams)) or [None]
    return [Cell(r, s, k) for r in spec.recipes for k in settings for s in range(spec.seeds)]


def shard_cells(cells: list[Cell], index: int, count: int) -> list[Cell]:
    """Share ``index`` of ``count`` (0-based): every count-th cell from ``index``; the shares
    partition the cells."""
    if count < 1 or not 0 <= index < count:
        raise GanforgeError(f"bad --shard {index}/{count}: need 0 <= i < n, e.g. --shard 0/4")
    return cells[index::count]


# -- claims and records -----------------------------------------------------------------------
@contextmanager
def claim(study: Path, cell: Cell) -> Iterator[bool]:
    """Hold the cell's claim for the ``with`` block; yields False when another process holds
    it (then nothing is to be done with the cell here)."""
    folder = study / "claims"
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{cell.name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            yield False
            return
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield True
    finally:
        os.close(fd)  # drops the flock


def record_path(study: Path, cell: Cell) -> Path:
    return study / "cells" / f"{cell.name}.json"


def read_record(study: Path, cell: Cell) -> dict[str, Any] | None:
    path = record_path(study, cell)
    return read_json(path) if path.is_file() else None


def is_done(study: Path, cell: Cell) -> bool:
    record = read_record(study, cell)
    return record is not None and record.get("status") in DONE


# -- running a cell ---------------------------------------------------------------------------
def cell_overrides(spec: StudySpec, cell: Cell, threads: int = 0) -> dict[str, Any]:
    """Config overrides of the cell, without its budget: the study's --set keys, the sampled
    setting, the seed and data, and the worker's thread share."""
    overrides: dict[str, Any] = {**spec.sets, "dataset": spec.dataset, "seed": cell.seed}
    if cell.setting is not None:
        base = spec.recipe_config(cell.recipe)
        overrides.update(sample_settings(base, cell.setting + 1, spec.study_seed)[cell.setting])
    if threads and "threads" not in spec.sets:
        overrides["threads"] = threads
    return overrides


def flops_per_step(study: Path, cell: Cell, overrides: dict[str, Any], backend: Backend) -> int:
    """FLOPs of one training step of the cell's configuration, counted once per recipe and
    setting and kept in ``STUDY/flops.json`` (counted under a lock, so never twice)."""
    key = f"{cell.recipe}/{'own' if cell.setting is None else cell.setting}"
    path, lock = study / "flops.json", study / "flops.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        table = read_json(path) if path.is_file() else {}
        if key not in table:
            neutral = {k: v for k, v in overrides.items() if k not in ("seed", "threads")}
            work = study / ".flops" / f"{cell.name}-{os.getpid()}"
            table[key] = count_step_flops(backend.train, cell.recipe, neutral, work)
            write_json(path, table)
        return int(table[key])
    finally:
        os.close(fd)


def _checkpoint_step(run: Path) -> int | None:
    path = latest_checkpoint(run / "checkpoints") if (run / "checkpoints").is_dir() else None
    return int(_STEP.search(path.name).group(1)) if path is not None else None


def _status(run: Path) -> str:
    try:
        return str(read_json(run / "run.json").get("status", ""))
    except GanforgeError:
        return ""


def _train(run: Path, cell: Cell, overrides: dict, budget: dict, backend: Backend) -> int | None:
    """Train the cell's run to its budget: fresh, resumed from its latest checkpoint, or not at
    all when finished. Returns the step resumed from (None: trained fresh or not at all)."""
    step = _checkpoint_step(run)
    if step is not None and _status(run) == "finished":
        return None
    if step is None:
        shutil.rmtree(run, ignore_errors=True)  # a start killed before its first checkpoint
        backend.train(cell.recipe, run, **overrides, **budget)
        return None
    if "minutes" in budget:
        wall = float(read_json(run / "run.json").get("wall_seconds", 0.0))
        left = budget["minutes"] - wall / 60
        if left > 1 / 600:  # more than 0.1 s of the budget left
            backend.resume(run, minutes=left)
    elif step < budget["steps"]:
        backend.resume(run)
    return step


def _one_line(exc: BaseException) -> str:
    first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
    return first if isinstance(exc, GanforgeError) else f"{type(exc).__name__}: {first}"


def run_cell(
    study: Path,
    spec: StudySpec,
    cell: Cell,
    backend: Backend,
    threads: int = 0,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Train and score ``cell`` (the caller holds its claim); write and return its record.

    A run stopped by a signal (its run.json says ``interrupted``) re-raises: it is resumed on
    the next start, not counted as a crash. KeyboardInterrupt and SystemExit pass through.
    """
    run = study / "runs" / cell.name
    previous = read_record(study, cell) or {}
    attempts = int(previous.get("attempts", 0)) if previous.get("status") == "crashed" else 0
    record: dict[str, Any] = {"cell": cell.name, "recipe": cell.recipe, "seed": cell.seed}
    record.update({"setting": cell.setting, "run": f"runs/{cell.name}"})
    while True:
        attempts += 1
        t0 = time.monotonic()
        try:
            record.update(_attempt(study, spec, cell, run, backend, threads))
            record.update({"status": "finished", "attempts": attempts, "error": None})
            record["cell_seconds"] = round(time.monotonic() - t0, 3)
            write_json(record_path(study, cell), record)
            return record
        except Exception as exc:
            if _status(run) == "interrupted":
                raise
            status = "failed" if attempts >= ATTEMPTS else "crashed"
            record.update({"status": status, "attempts": attempts, "error": _one_line(exc)})
            write_json(record_path(study, cell), record)
            log(f"study: {cell.name} {status} (attempt {attempts}): {record['error']}")
            if status == "failed":
                return record


def _attempt(
    study: Path, spec: StudySpec, cell: Cell, run: Path, backend: Backend, threads: int
) -> dict[str, Any]:
    overrides = cell_overrides(spec, cell, threads)
    cfg = get_recipe(cell.recipe).config(**overrides)
    per_step = flops_per_step(study, cell, overrides, backend)
    budget = parse_budget(spec.budget)
    limit = budget_overrides(budget, per_step, cfg.batch_size, cfg.d_steps)
    resumed_from = _train(run, cell, overrides, limit, backend)
    t0 = time.monotonic()
    metrics = backend.evaluate(
        run, metrics=list(spec.metrics), n=spec.eval_n, allow_small=spec.allow_small
    )
    eval_seconds = time.monotonic() - t0
    info = read_json(run / "run.json")
    steps = int(info.get("steps", 0))
    return {
        "config": read_json(run / "config.json"),
        "budget": {**budget.to_dict(), **limit},
        "steps": steps,
        "images": steps * cfg.batch_size * cfg.d_steps,
        "flops_per_step": per_step,
        "flops": steps * per_step,
        "wall_seconds": float(info.get("wall_seconds", 0.0)),
        "eval_seconds": round(eval_seconds, 3),
        "resumed_from": resumed_from,
        "metrics": {k: float(v) for k, v in metrics.items()},
    }
