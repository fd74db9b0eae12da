"""The API's tools beside training: recipes, datasets, the toy benchmark, the lab, feature
extractors for own data, and image-to-image translation. The CLI's ``recipes``, ``data``,
``toy``, ``lab``, ``features`` and ``translate`` commands call only these.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ganforge.config import parse_set_args
from ganforge.data import sources
from ganforge.data import toy as toy_data
from ganforge.errors import GanforgeError
from ganforge.lab import EXPERIMENTS, run_experiment
from ganforge.metrics.inpaint_eval import evaluate_inpaint
from ganforge.metrics.stargan_eval import evaluate_stargan
from ganforge.metrics.superres_eval import evaluate_superres
from ganforge.metrics.translation import evaluate_run
from ganforge.recipes import RECIPES, Recipe
from ganforge.run_dir import result_folder

if TYPE_CHECKING:
    from ganforge.training.loaded_run import LoadedRun

TOY_DATASETS = tuple(toy_data.TOY_DATASETS)
IDX_NAMES = tuple(sources.IDX_DATASETS)


def recipes() -> dict[str, Recipe]:
    """The named recipes, by name."""
    return dict(RECIPES)


def locate_data(name: str, data_dir: str | None = None, download: bool = False) -> Path:
    """The folder holding ``name``'s IDX files (searched in ``data_dir`` first; downloaded and
    checksummed when ``download``)."""
    from ganforge.data import sources

    spec = sources.IDX_DATASETS[name]
    files = sources.locate(spec, data_dir, download=download)
    return Path(files["train-images"]).parent


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def toy(
    dataset: str,
    recipe: str | None = None,
    *,
    steps: int | None = None,
    seeds: int = 1,
    out: str | Path | None = None,
    force: bool = False,
    sets: list[str] | None = None,
    log: Callable[[str], None] | None = _stderr,
) -> tuple[dict[str, Any], str, Path]:
    """The mode-collapse benchmark (ring8/grid25; VEEGAN/PacGAN metrics): returns (result,
    the recipe used, the output folder). ``out`` follows :func:`ganforge.run_dir.result_folder`
    (default runs/toy-DATASET-RECIPE)."""
    from ganforge.toy import BEST_RECIPE, run_benchmark

    if steps is not None and steps < 1:
        raise GanforgeError(f"bad --steps {steps}: must be at least 1")
    name = recipe or BEST_RECIPE[dataset]
    folder = result_folder(out, f"runs/toy-{dataset}-{name}", force)
    result = run_benchmark(
        dataset,
        recipe,  # None: the best recipe with its settings (ganforge.toy.BEST_SETTINGS)
        steps=steps,
        seeds=seeds,
        out=str(folder),
        overrides=parse_set_args(sets or []),
        log=log,
    )
    return result, name, folder


def lab_experiments() -> dict[str, Any]:
    """The lab's experiments: name -> (module, one-line description)."""
    return dict(EXPERIMENTS)


def lab(
    experiment: str,
    out: str | Path | None = None,
    *,
    force: bool = False,
    steps: int | None = None,
    seed: int = 0,
) -> tuple[dict[str, Any], Path]:
    """Run a theory experiment; returns (its numbers, the output folder), the folder chosen by
    :func:`ganforge.run_dir.result_folder` (default runs/lab-NAME)."""
    folder = result_folder(out, f"runs/lab-{experiment}", force)
    return run_experiment(experiment, str(folder), steps=steps, seed=seed), folder


def train_features(
    dataset: str,
    out: str | Path | None = None,
    *,
    steps: int = 500,
    image_size: int = 0,
    channels: int = 0,
    batch_size: int = 64,
    seed: int = 0,
    force: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """Train a small CNN on ``dataset``'s images as the feature space of ``evaluate`` (class
    labels from sub-folders, else rotation prediction); returns (weights path, its card)."""
    from ganforge.metrics.domain import log_stderr, save_domain_extractor, train_domain_extractor

    if ":" not in dataset and Path(dataset).expanduser().is_dir():
        dataset = f"folder:{dataset}"
    if channels not in (0, 1, 3):
        raise GanforgeError(f"bad --channels {channels}: use 1 or 3")
    if image_size < 0 or batch_size < 1:
        raise GanforgeError("--image-size must be >= 0 and --batch-size >= 1")
    name = Path(dataset.partition(":")[2] or dataset).name or "data"
    path = Path(out or f"{name}-features.safetensors")
    if path.suffix != ".safetensors":
        raise GanforgeError(f"--out {path}: the file name must end in .safetensors")
    if path.exists() and not force:
        raise GanforgeError(f"{path} exists; pass --force to replace it or choose another --out")
    net, card = train_domain_extractor(
        dataset,
        steps=steps,
        image_size=image_size,
        channels=channels,
        batch_size=batch_size,
        seed=seed,
        log=log_stderr,
    )
    card["command"] = (
        f"ganforge features train {dataset} --steps {steps} --image-size "
        f"{card['input_shape'][-1]} --channels {card['input_shape'][0]} --batch-size "
        f"{batch_size} --seed {seed} --out {path}"
    )
    return save_domain_extractor(net, card, path), card


def _translation_run(run: str | Path | LoadedRun, device: str) -> LoadedRun:
    """A loaded run with its game's own state (a StarGAN run's domain names) restored."""
    from ganforge.training import checkpoint as ckpt
    from ganforge.training.loaded_run import LoadedRun, load_run

    loaded = run if isinstance(run, LoadedRun) else load_run(run, device=device)
    if loaded.cfg.game == "stargan":
        state = ckpt.load_checkpoint(ckpt.latest_checkpoint(loaded.path / "checkpoints"))
        loaded.game.load_extra_state(state.get("game_state") or {})
    return loaded


def translate(
    run: str | Path | LoadedRun,
    inputs: str | Path,
    out: str | Path,
    direction: str | None = None,
    device: str = "auto",
    to: str | None = None,
    mask: str | Path | None = None,
) -> list[Path]:
    """Translate ``inputs`` (an image file or a folder) with a pix2pix/CycleGAN run (in
    ``direction``, AtoB by default), a StarGAN run (to the domain ``to``, or ``all``) or an
    inpaint run (filling the run's masks, or the ``mask`` image, white = hole) into PNGs of
    the same names in ``out``; returns the written files."""
    from ganforge.translate import translate_files

    return translate_files(_translation_run(run, device), inputs, out, direction, to=to, mask=mask)


def translation_scores(
    run: str | Path | LoadedRun,
    n: int = 0,
    device: str = "auto",
    baseline: str | Path | LoadedRun | None = None,
) -> dict[str, Any]:
    """Scores of a translation run on its dataset's test split, ``n`` images (per domain for
    StarGAN; 0 = all): pix2pix (L1, PSNR, SSIM), CycleGAN (class accuracy, cycle error), StarGAN
    (target-domain accuracy per pair, reconstruction), super-resolution (PSNR, SSIM, FD beside
    bicubic), inpaint (PSNR in the hole vs mean fill, FD; ``baseline``: another inpaint run
    beside it); the scorer comes from ``SCORERS`` by the run's game."""
    from ganforge.training.loaded_run import LoadedRun, load_run

    if n < 0:
        raise GanforgeError(f"bad --n {n}: must be >= 0")
    loaded = _translation_run(run, device)
    scorer = SCORERS.get(loaded.cfg.game, Scorer(evaluate_run))
    if baseline is None:
        return scorer.fn(loaded, n)
    if not scorer.takes_baseline:
        games = " and ".join(g for g, s in SCORERS.items() if s.takes_baseline)
        raise GanforgeError(f"--baseline compares {games} runs: drop it for this run")
    if not isinstance(baseline, LoadedRun):
        baseline = load_run(baseline, device=device)
    return scorer.fn(loaded, n, baseline)


def translation_table(scores: dict[str, Any]) -> str:
    """A StarGAN run's scores (:func:`translation_scores`) as a table per source -> target
    pair; "" for other games (their scores are the JSON line only)."""
    from ganforge.metrics.stargan_eval import score_table

    return score_table(scores) if scores.get("game") == "stargan" else ""


class Scorer(NamedTuple):
    """How ``translate --eval`` scores a game: ``fn(run, n)`` -> scores, or ``fn(run, n,
    baseline)`` where ``takes_baseline`` (another run of the game scored beside it)."""

    fn: Callable[..., dict[str, Any]]
    takes_baseline: bool = False


# game -> its scorer; games not listed use metrics.translation.evaluate_run
SCORERS: dict[str, Scorer] = {
    "stargan": Scorer(evaluate_stargan),
    "srresnet": Scorer(evaluate_superres),
    "srgan": Scorer(evaluate_superres),
    "inpaint": Scorer(evaluate_inpaint, takes_baseline=True),
}
