"""How many CPU threads torch gets: the cores this process may use, less what others keep busy.

torch's default is one thread per core of the machine. When other processes already keep some
of those cores busy, the OpenMP threads spin against them: on the project's 2-core machine with
one competing process, 2 threads ran a training step 2x slower than 1 thread. So ``threads=0``
(auto) counts the cores available to this process (its CPU affinity, and a cgroup CPU quota when
one is set), subtracts the other runnable processes, and keeps at least one. ``choose_threads``
is the pure rule; ``measure`` reads the machine; ``apply_threads`` sets torch and words why.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class Machine:
    """What the choice depends on: usable cores and the load of other processes."""

    cores: int  # cores this process may run on
    others: float  # processes of others keeping cores busy (load average, see measure())
    local_ranks: int = 1  # processes of this training on this machine (torchrun), sharing cores
    limit: int = 1 << 16  # torch's thread count before (OMP_NUM_THREADS, torch.set_num_threads)


def choose_threads(requested: int, machine: Machine) -> tuple[int, str]:
    """(thread count, one-line reason). ``requested`` > 0 is honoured as given; 0 is auto:
    ``max(1, (cores - round(others)) // local_ranks)``, and no more than torch already had
    (so OMP_NUM_THREADS or a caller's ``torch.set_num_threads`` still bound it)."""
    if requested > 0:
        return requested, f"{_plural(requested)} (threads={requested})"
    busy = max(0, round(machine.others))
    n = max(1, (machine.cores - busy) // max(1, machine.local_ranks))
    why = f"{machine.cores} cores, load {machine.others:.1f} from other processes"
    if machine.local_ranks > 1:
        why += f", shared by {machine.local_ranks} ranks"
    if machine.limit < n:
        n = max(1, machine.limit)
        why += f", torch limited to {n}"
    return n, f"{_plural(n)} ({why}); --set threads=N to choose"


def _plural(n: int) -> str:
    return f"{n} CPU thread{'s' if n != 1 else ''}"


def available_cores() -> int:
    """Cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def own_runnable_threads() -> int:
    """Threads of this process runnable now (state R in /proc/self/task/*/stat), at least 1
    (the one asking): torch's OpenMP workers spin for a while after an operation, so a process
    that has computed something before its run starts is more than one runnable thread."""
    n = 0
    for stat in Path("/proc/self/task").glob("*/stat"):
        try:
            n += stat.read_text().rsplit(")", 1)[1].split()[0] == "R"
        except (OSError, IndexError):
            continue
    return max(1, n)


def load_of_others(local_ranks: int = 1) -> float:
    """Processes of others keeping a core busy: the 1-minute load average, but no more than the
    threads of other processes runnable right now (those in /proc/loadavg, less this process's
    own runnable threads and the other ranks of this training on this machine).

    At start this process has run for seconds only, so it adds little to the average; and the
    runnable count keeps a job that has just ended, still in the average, from counting.
    """
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0
    try:
        running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
        load = min(load, float(running - own_runnable_threads() - (local_ranks - 1)))
    except (OSError, ValueError, IndexError):
        pass
    return max(0.0, load)


def measure() -> Machine:
    """This machine now, as :func:`choose_threads` sees it."""
    try:
        ranks = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        ranks = 1
    return Machine(available_cores(), load_of_others(ranks), ranks, torch.get_num_threads())


def apply_threads(cfg, device: torch.device | str = "cpu") -> str:
    """Set torch's intra-op threads from ``cfg.threads``; return the ``ganforge:`` line that
    says how many and why (on CPU), or "" on an accelerator, where only ``threads=N`` is applied.

    The caller prints the line once its run has started, so that a refused run still answers
    with its one error line only.
    """
    requested = cfg.threads
    if torch.device(device).type != "cpu":
        if requested > 0:
            torch.set_num_threads(requested)
        return ""
    n, why = choose_threads(requested, measure() if requested <= 0 else Machine(1, 0.0))
    torch.set_num_threads(n)
    return f"ganforge: {why}"
