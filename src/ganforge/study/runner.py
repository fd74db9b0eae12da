"""Run a study: the cells of this shard, in one process or in ``workers`` processes that each
take the next unclaimed cell, then the outputs (study.jsonl, study.md, study.html).

Parallel workers split the cores: each trains with ``max(1, cores // workers)`` threads (unless
``--set threads=N``), so N cells at once do not oversubscribe the machine. ``shard=(i, n)`` runs
every n-th cell from i: n machines (a Slurm array, a Kubernetes indexed job) sharing one folder
run a whole study between them; claims keep any cell to one process even when shares overlap.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganforge.errors import GanforgeError
from ganforge.study.cells import Backend, Cell, claim, is_done, plan_cells, run_cell, shard_cells
from ganforge.study.page import write_page
from ganforge.study.results import collect_records, write_jsonl
from ganforge.study.spec import StudySpec, save_or_check
from ganforge.study.summary import summarise, write_markdown
from ganforge.training.threads import available_cores


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def work_on(
    study: Path,
    spec: StudySpec,
    cells: list[Cell],
    backend: Backend,
    threads: int = 0,
    log: Callable[[str], None] = _stderr,
) -> int:
    """Take each unfinished, unclaimed cell of ``cells`` in turn and run it; returns how many
    this process ran."""
    ran = 0
    for cell in cells:
        if is_done(study, cell):
            continue
        with claim(study, cell) as mine:
            if not mine or is_done(study, cell):  # done by another while we looked
                continue
            log(f"study: {cell.name} starts")
            record = run_cell(study, spec, cell, backend, threads, log)
            ran += 1
            fd = record.get("metrics", {}).get("fid")
            log(f"study: {cell.name} {record['status']}" + (f", FD {fd:.4g}" if fd else ""))
    return ran


def _worker(study: str, spec: dict, cells: list[tuple], backend: Backend, threads: int) -> int:
    return work_on(
        Path(study), StudySpec.from_dict(spec), [Cell(*c) for c in cells], backend, threads
    )


def write_outputs(study: Path) -> dict[str, Any]:
    """study.jsonl, study.md and study.html from the cells recorded so far; the summary."""
    records = collect_records(study)
    write_jsonl(study, records)
    summary = summarise(records)
    write_markdown(study, summary)
    write_page(study, summary)
    return summary


def run_study(
    spec: StudySpec,
    out: str | Path,
    backend: Backend,
    *,
    workers: int = 1,
    shard: tuple[int, int] = (0, 1),
    log: Callable[[str], None] = _stderr,
) -> dict[str, Any]:
    """Run (or continue) the study ``spec`` in ``out``; returns its summary (summary.py)."""
    spec.validate()
    if workers < 1:
        raise GanforgeError(f"bad --workers {workers}: must be at least 1")
    cells = shard_cells(plan_cells(spec), *shard)  # a bad --shard is refused before any write
    study = Path(out)
    save_or_check(spec, study)
    todo = [c for c in cells if not is_done(study, c)]
    log(
        f"study: {len(cells)} cell(s) in share {shard[0]}/{shard[1]}, {len(todo)} to run, "
        f"budget {spec.budget}, {workers} worker(s)"
    )
    if workers == 1 or len(todo) <= 1:
        work_on(study, spec, todo, backend, 0, log)
    else:
        threads = max(1, available_cores() // workers)
        args = (str(study), spec.to_dict(), [(c.recipe, c.seed, c.setting) for c in todo])
        ctx = multiprocessing.get_context("spawn")  # fresh interpreters: no forked torch state
        with ctx.Pool(min(workers, len(todo))) as pool:
            jobs = [
                pool.apply_async(_worker, (*args, backend, threads))
                for _ in range(min(workers, len(todo)))
            ]
            for job in jobs:
                job.get()
    return write_outputs(study)
