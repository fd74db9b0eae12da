"""The Python API, the one door: train, resume, load_run, sample, evaluate.

The CLI calls only these and their peers in ``api_views`` (reports, pictures, export) and
``api_tools`` (toy benchmark, lab, feature extractors, translation, data). Runs are loaded here
and handed to metrics and views, which never load runs themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ganforge.api_sampling import check_truncation, truncation_sweep, truncation_table
from ganforge.config import Config
from ganforge.errors import GanforgeError
from ganforge.metrics.evaluate import check_split, evaluate_npy, evaluate_run, parse_metrics
from ganforge.metrics.frechet import MIN_SAMPLES
from ganforge.recipes import DEFAULT_RECIPE, get_recipe
from ganforge.run_dir import check_run, default_run_out, read_json
from ganforge.run_hooks import view_hooks
from ganforge.study.budget import DEFAULT_BUDGET as STUDY_DEFAULT_BUDGET
from ganforge.study.cells import Backend
from ganforge.study.results import collect_records
from ganforge.study.runner import run_study
from ganforge.study.spec import StudySpec
from ganforge.study.summary import format_table, summarise
from ganforge.training.loaded_run import ClassSpec, LoadedRun, load_run
from ganforge.training.trainer import Summary, Trainer
from ganforge.views.sample_file import write_samples


def make_config(recipe: str = DEFAULT_RECIPE, overrides: dict[str, Any] | None = None) -> Config:
    """The recipe's config with ``overrides`` (strings are parsed); validated."""
    cfg = get_recipe(recipe).config()
    return cfg.with_overrides(overrides or {})


def train(
    recipe: str = DEFAULT_RECIPE,
    out: str | Path | None = None,
    *,
    force: bool = False,
    progress: bool | None = False,
    **overrides: Any,
) -> Summary:
    """Train ``recipe`` with config ``overrides`` into ``out`` (default
    :func:`ganforge.run_dir.default_run_out`); returns the run's summary.

    Without a budget (steps, epochs, minutes) one epoch is trained.
    """
    cfg = make_config(recipe, overrides)
    if not (cfg.steps or cfg.epochs or cfg.minutes):
        cfg = cfg.with_overrides({"epochs": 1})
    out = out or default_run_out(cfg)
    return Trainer(cfg, out, force=force, progress=progress, hooks=view_hooks(cfg)).run()


def resume(
    run: str | Path,
    *,
    steps: int = 0,
    epochs: float = 0,
    minutes: float = 0,
    progress: bool | None = False,
) -> Summary:
    """Continue ``run`` from its latest checkpoint with its own config (budget may be extended)."""
    run = check_run(Path(run))
    cfg = Config.from_dict(read_json(run / "config.json"))
    budget = {k: v for k, v in (("steps", steps), ("epochs", epochs), ("minutes", minutes)) if v}
    if budget:
        cfg = cfg.with_overrides(budget)
    hooks = view_hooks(cfg)
    return Trainer(cfg, run, resume=True, progress=progress, hooks=hooks).run()


def sample(
    run: str | Path | LoadedRun,
    n: int = 64,
    seed: int = 0,
    *,
    class_: ClassSpec = None,
    truncation: float | None = None,
    **kw: Any,
) -> torch.Tensor:
    """``n`` samples of ``run`` (N, C, H, W in [-1, 1]): ``load_run(run).sample(n, seed, ...)``
    with ``class_`` (an index, a class name such as "Sneaker" or a folder's sub-folder name, or
    a list of them, cycled) and ``truncation`` (the recipe's truncation trick at that value)."""
    loaded = run if isinstance(run, LoadedRun) else load_run(run)
    spec = class_ if class_ is not None else kw.pop("classes", None)
    truncation = check_truncation(truncation)
    return loaded.sample(n, seed, classes=loaded.class_indices(spec), truncation=truncation, **kw)


def sample_to_file(
    run: str | Path | LoadedRun,
    out: str | Path,
    n: int = 64,
    seed: int = 0,
    *,
    classes: ClassSpec = None,
    codes: dict[int, float] | None = None,
    rejection: bool | None = None,
    device: str = "auto",
    truncation: float | None = None,
) -> Path:
    """``n`` samples of ``run`` to ``out``: a .png grid or a .npy (float32 N, C, H, W in
    [-1, 1], streamed batch by batch after checking the free space); ``classes`` as
    ``class_`` of :func:`sample`, ``truncation`` the recipe's truncation trick."""
    if n < 1:
        raise GanforgeError(f"bad --n {n}: must be at least 1")
    out = Path(out)
    if out.suffix.lower() not in (".png", ".npy"):
        raise GanforgeError(f"bad --out {out}: use a .png or .npy file name")
    truncation = check_truncation(truncation)
    loaded = run if isinstance(run, LoadedRun) else load_run(run, device=device)
    return write_samples(
        loaded, out, n, seed, classes=loaded.class_indices(classes), codes=codes,
        rejection=rejection, truncation=truncation,
    )  # fmt: skip


def evaluate_with_info(
    run: str | Path | LoadedRun,
    metrics: str | list[str] | tuple[str, ...] = ("fid",),
    n: int = 10_000,
    split: str = "test",
    allow_small: bool = False,
    *,
    dataset: str | None = None,
    features: str | None = None,
    seed: int = 0,
    labels: str | Path | None = None,
    which: str = "latest",
    raw: bool = False,
    device: str = "auto",
    ppl: dict[str, Any] | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """(scores, info) of a run (a folder or a :class:`LoadedRun`: ``n`` samples of its
    generator) or a .npy of images against ``dataset``'s ``split``; see
    ``ganforge.metrics.evaluate`` for the metrics and docs/metrics.md for their maths.

    The Fréchet distance (Heusel et al. 2017) is biased upwards by about tr(Σ)/N for N
    samples, so FD on fewer than ``MIN_SAMPLES`` (2048) samples is refused unless
    ``allow_small`` (then ``info["fid_warning"]`` says so). ``labels`` (requested classes for
    ``cas``) belong to a .npy; ``which``, ``raw``, ``device`` and the ``ppl`` options (space,
    sampling, samples, distance; :func:`ganforge.metrics.ppl.run_ppl`) to a run.
    """
    wanted = parse_metrics(metrics)
    if n < 2:
        raise GanforgeError(f"bad --n {n}: must be at least 2")
    check_split(split, wanted)  # before a run is loaded and sampled
    is_run = isinstance(run, LoadedRun) or Path(run).is_dir()
    if is_run and labels is not None:
        raise GanforgeError("--labels belong to a .npy TARGET; a run draws its own classes")
    if not is_run and any(v is not None for v in (ppl or {}).values()):
        raise GanforgeError("the --ppl-* options belong to a run; TARGET is a .npy file")
    if not is_run and (which != "latest" or raw):
        raise GanforgeError("--best and --raw choose how a run samples; TARGET is a .npy file")
    if "fid" in wanted and is_run and n < MIN_SAMPLES and not allow_small:
        raise GanforgeError(
            f"FD on {n} < {MIN_SAMPLES} samples is too biased to compare: raise --n "
            "or pass --allow-small"
        )
    if is_run:
        loaded = run if isinstance(run, LoadedRun) else load_run(run, device, which)
        result = evaluate_run(loaded, dataset, wanted, n, features, seed, raw, split, ppl)
    else:
        result = evaluate_npy(run, dataset, wanted, features, seed, labels, split)
    info = result.pop("info")
    if "fid" in wanted and info["n"] < MIN_SAMPLES and not allow_small:
        raise GanforgeError(
            f"FD on {info['n']} < {MIN_SAMPLES} samples is too biased to compare: use more "
            "images or pass --allow-small"
        )
    return result, info


def evaluate(
    run: str | Path | LoadedRun,
    metrics: str | list[str] | tuple[str, ...] = ("fid",),
    n: int = 10_000,
    split: str = "test",
    allow_small: bool = False,
    **kw: Any,
) -> dict[str, float]:
    """The scores of :func:`evaluate_with_info` alone, e.g. ``{"fid": 12.3}``."""
    return evaluate_with_info(run, metrics, n, split, allow_small, **kw)[0]


def study(
    recipes: Sequence[str],
    out: str | Path,
    *,
    seeds: int = 3,
    budget: str = STUDY_DEFAULT_BUDGET,
    dataset: str = "fashion-mnist",
    metrics: Sequence[str] = ("fid",),
    sets: dict[str, Any] | None = None,
    sample_hparams: int = 0,
    eval_n: int = 10_000,
    allow_small: bool = False,
    workers: int = 1,
    shard: tuple[int, int] = (0, 1),
) -> dict[str, Any]:
    """Run or continue an equal-budget study (Lucic et al. 2018) into ``out``: every
    (recipe, setting, seed) cell trained with :func:`train`/:func:`resume` and scored with
    :func:`evaluate` (see docs/study.md); returns its summary."""
    spec = StudySpec(
        tuple(recipes), seeds, budget, dataset, tuple(metrics), dict(sets or {}),
        sample_hparams, eval_n, allow_small,
    )  # fmt: skip
    backend = Backend(train=train, resume=resume, evaluate=evaluate)
    return run_study(spec, out, backend, workers=workers, shard=shard)


def study_summary(study_dir: str | Path) -> dict[str, Any]:
    """The summary of a study folder (per recipe: median, IQR, best run; best-of-N)."""
    return summarise(collect_records(Path(study_dir)))


def study_table(summary: dict[str, Any]) -> str:
    """The Markdown table of a study's summary."""
    return format_table(summary)


__all__ = [
    "MIN_SAMPLES",
    "STUDY_DEFAULT_BUDGET",
    "GanforgeError",
    "LoadedRun",
    "evaluate",
    "evaluate_with_info",
    "load_run",
    "make_config",
    "resume",
    "sample",
    "sample_to_file",
    "study",
    "study_summary",
    "study_table",
    "train",
    "truncation_sweep",
    "truncation_table",
]
