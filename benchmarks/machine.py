"""The machine a benchmark's figures come from, in one line for its page."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ganforge.training.precision import cpu_flags


def cpu_description() -> str:
    """CPU model, core count and the vector/matrix extensions that change the speed of
    PyTorch's CPU kernels (``lscpu``'s flags): e.g. "Intel(R) Xeon(R) Processor, 2 cores,
    AVX-512 + AVX-512 BF16 + AMX"."""
    model, text = "unknown CPU", ""
    with contextlib.suppress(OSError):
        text = Path("/proc/cpuinfo").read_text()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            model = value.strip()
            break
    flags = cpu_flags(text) or set()
    named = [("avx512f", "AVX-512"), ("avx512_bf16", "AVX-512 BF16"), ("amx_bf16", "AMX")]
    found = [name for flag, name in named if flag in flags]
    if not found:
        found = ["AVX2"] if "avx2" in flags else ["no AVX2"]
    return f"{model}, {os.cpu_count()} cores, {' + '.join(found)}"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: figures taken above ~0.5 per core are suspect."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def by_cpu(rows: list[dict], first: str) -> dict[str, list[dict]]:
    """Rows grouped by their ``cpu`` field, ``first`` (this machine) leading: figures taken at
    equal wall time compare only within one CPU, so each CPU gets a table of its own."""
    groups: dict[str, list[dict]] = {first: []}
    for r in rows:
        groups.setdefault(r.get("cpu", "unknown CPU"), []).append(r)
    return {cpu: mine for cpu, mine in groups.items() if mine}
