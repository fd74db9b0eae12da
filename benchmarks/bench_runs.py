"""Benchmark runs that survive stops.

A benchmark trains each run for a wall-clock budget *in all*: :func:`train_for` keeps a finished
run, resumes an interrupted one (a run with checkpoints) for the minutes it has left (run.json's
``wall_seconds`` counts the time trained before the stop), and starts a run afresh only when it
has no checkpoint to lose. :class:`Results` keeps each scored item in a JSON file as soon as it
is scored, so a re-run after a stop, even on a fresh checkout with the committed JSON and no
runs, skips what is already measured.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from ganforge import api

CHECKPOINT_MINUTES = 3.0  # at most this much training is lost to a stop
# Benchmarks run on a quiet machine and use every core: the automatic choice (threads=0) reads
# the lagging load average and a momentary count of runnable processes, and once picked one
# thread for a whole 5-minute run on an idle 2-core machine.
THREADS = os.cpu_count() or 1


def run_facts(run: Path) -> dict[str, Any]:
    """The run's run.json ({} when there is none or it cannot be read)."""
    try:
        return json.loads((run / "run.json").read_text())
    except (OSError, ValueError):
        return {}


# Keys the benchmark may ask as "choose for me", which the run's config saves resolved.
RESOLVED = {"threads"}


def settings_clash(run: Path, asked: dict[str, Any]) -> str:
    """The keys of ``asked`` that the run already in ``run`` (if any) was trained with other
    values of, as 'key=old (asked new)'; '' when there is no run or none differs. Keys the
    config does not save (``report``) and values it resolves ("auto", ``threads``) are not
    compared."""
    try:
        saved = json.loads((run / "config.json").read_text())
    except (OSError, ValueError):
        return ""
    return ", ".join(
        f"{k}={saved[k]} (asked {v})"
        for k, v in asked.items()
        if k in saved and k not in RESOLVED and v != "auto" and saved[k] != v
    )


def train_for(
    recipe: str, run: Path, minutes: float = 0.0, steps: int = 0, **overrides: Any
) -> dict[str, Any]:
    """Train ``recipe`` into ``run`` for ``minutes`` of wall time in all (or ``steps``) on
    every core, resuming where a stop left it; returns the run's facts (steps, wall_seconds,
    threads, ...). A run already in ``run`` that was trained with other settings than
    ``overrides`` is neither kept, resumed nor overwritten: the benchmark exits naming the
    keys."""
    clash = settings_clash(run, overrides)
    if clash:
        raise SystemExit(f"{run} was trained with {clash}: pass another --runs folder")
    facts = run_facts(run)
    if facts.get("status") == "finished":
        return facts
    checkpoints = run / "checkpoints"
    if checkpoints.is_dir() and any(checkpoints.iterdir()):
        if steps:
            api.resume(run, steps=steps)
        else:
            left = minutes - float(facts.get("wall_seconds", 0.0)) / 60
            api.resume(run, minutes=max(left, 1 / 60))
    else:
        budget = {"steps": steps} if steps else {"minutes": minutes}
        overrides.setdefault("checkpoint_minutes", CHECKPOINT_MINUTES)
        overrides.setdefault("threads", THREADS)
        api.train(recipe, run, force=True, **budget, **overrides)
    return run_facts(run)


def timed_recipe_fd(
    runs: Path, recipe: str, precision: str, minutes: float, seed: int, samples: int
) -> dict[str, Any]:
    """Train ``recipe`` in ``precision`` for ``minutes`` (seed ``seed``) into
    RUNS/RECIPE-PRECISION-Mm-sSEED and score ``samples`` of its generator (eval mode, EMA where
    kept) by FD against the Fashion-MNIST test split on the shipped extractor: {steps,
    wall_seconds, fd}. One name per setting, so benchmarks sharing ``runs`` score one run."""
    from ganforge.metrics.evaluate import evaluate_images

    run = runs / f"{recipe}-{precision}-{minutes:g}m-s{seed}"
    facts = train_for(recipe, run, minutes, seed=seed, device="cpu", precision=precision,
                      report=False)  # fmt: skip
    images = api.sample(api.load_run(run, device="cpu"), samples, seed + 1)
    fd = evaluate_images(images, "fashion-mnist", ["fid"])["fid"]
    return {"steps": facts.get("steps"), "wall_seconds": float(facts.get("wall_seconds", 0.0)),
            "fd": float(fd)}  # fmt: skip


def add_fd_options(ap: argparse.ArgumentParser, runs: str) -> None:
    """The options of a benchmark that trains runs into --runs, scores them by FD and keeps
    the scores in --doc: --samples, --runs, --doc, --fresh, --page-only."""
    ap.add_argument("--samples", type=int, default=10000, help=">= 2048 for a stable FD")
    ap.add_argument("--runs", type=Path, default=Path(runs))
    ap.add_argument("--doc", type=Path, default=Path("docs/bench"))
    ap.add_argument("--fresh", action="store_true", help="measure everything again")
    ap.add_argument("--page-only", action="store_true", help="train nothing: rewrite the page")


def parse_fd_options(ap: argparse.ArgumentParser) -> argparse.Namespace:
    """``ap.parse_args()``, refusing --samples below 2048."""
    args = ap.parse_args()
    if args.samples < 2048:
        ap.error("--samples must be >= 2048: FD from fewer samples is biased and unstable")
    return args


class Results:
    """Scored items by key in a JSON file, written after every item."""

    def __init__(self, path: Path, fresh: bool = False):
        self.path = Path(path)
        self.items: dict[str, Any] = {}
        if self.path.is_file() and not fresh:
            self.items = json.loads(self.path.read_text())

    def __contains__(self, key: str) -> bool:
        return key in self.items

    def __getitem__(self, key: str) -> Any:
        return self.items[key]

    def put(self, key: str, value: Any) -> None:
        self.items[key] = value
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.items, indent=1, default=str) + "\n")
