"""Evaluate images, a ``.npy`` file or a loaded run against a dataset's real images.

The real reference is the dataset's TEST split for fid, kid, is, pr, dc (so the generator is
judged on images it never saw; FD(train, test) is the floor, see docs/metrics.md; ``split``
may ask for the train split instead) and its TRAIN split for the memorisation check ("nn"). Reference features are cached per extractor (by the
weights' sha256) and per data content (sha256 of the images) in memory and in
``~/.cache/ganforge/metrics``. Runs arrive loaded (:func:`evaluate_run` takes a LoadedRun;
``ganforge.api.evaluate`` does the loading): metrics never load runs.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ganforge.errors import DataError, GanforgeError
from ganforge.metrics.classifier import class_accuracy, classifier_score
from ganforge.metrics.extractor import FeatureExtractor
from ganforge.metrics.features import extractor_for_dataset
from ganforge.metrics.features import load_feature_extractor as _load_extractor
from ganforge.metrics.frechet import MIN_SAMPLES, GaussianStats, feature_stats, frechet_distance
from ganforge.metrics.kid import kernel_distance
from ganforge.metrics.manifold import density_coverage, nearest_distances, precision_recall
from ganforge.run_dir import file_mode

if TYPE_CHECKING:
    from ganforge.training.loaded_run import LoadedRun

SPLITS = ("test", "train")
IMAGE_METRICS = ("fid", "kid", "is", "pr", "dc", "cas", "nn")  # "all"
METRICS = (*IMAGE_METRICS, "ppl")  # ppl: runs only, asked for by name (metrics/ppl.py)
DEFAULT_METRICS = ("fid", "kid", "is", "pr", "dc")
# The memorisation threshold: this percentile of the nearest-train distances of TEST images.
MEMO_PERCENTILE = 5.0


@dataclass
class Reference:
    """Features, logits and labels of one split of a dataset under one extractor."""

    dataset: str
    split: str
    features: torch.Tensor
    logits: torch.Tensor
    labels: torch.Tensor | None
    _stats: GaussianStats | None = field(default=None, repr=False)

    @property
    def stats(self) -> GaussianStats:
        if self._stats is None:
            self._stats = feature_stats(self.features)
        return self._stats

    def __len__(self) -> int:
        return self.features.shape[0]


_MEMORY: dict[tuple[str, str, str, str], Reference] = {}
_EXTRACTORS: dict[str, FeatureExtractor] = {}


def load_feature_extractor(name: str) -> FeatureExtractor:
    """A cached extractor (loading is cheap, but callers ask often during training)."""
    if name not in _EXTRACTORS:
        _EXTRACTORS[name] = _load_extractor(name)
    return _EXTRACTORS[name]


def _cache_file(extractor: FeatureExtractor, dataset: str, split: str, digest: str) -> Path | None:
    sha = extractor.card.get("sha256")
    if not sha or ":" in dataset:
        return None
    from ganforge.data.sources import cache_dir

    tag = f"{extractor.name}-{sha[:12]}-s{extractor.scale:.6g}"
    return cache_dir() / "metrics" / f"{tag}-{dataset}-{split}-{digest[:16]}.npz"


def data_digest(images: torch.Tensor, labels: torch.Tensor | None) -> str:
    """sha256 of the images' shape and uint8 bytes (and the labels): the cache key of a
    reference, so a changed copy of a dataset is never scored against stale features."""
    h = hashlib.sha256(repr(tuple(images.shape)).encode())
    h.update(images.contiguous().numpy().tobytes())
    if labels is not None:
        h.update(labels.contiguous().numpy().tobytes())
    return h.hexdigest()


def reference(
    dataset: str, split: str, extractor: FeatureExtractor, data_dir: str | None = None
) -> Reference:
    """Features of ``dataset``'s ``split`` under ``extractor``, cached (in memory and on disk)
    under the content hash of the data (:func:`data_digest`), not only its name."""
    from ganforge.data.catalog import load_dataset

    shape = tuple(extractor.input_shape)  # a folder is read at the extractor's image size
    size, channels = (shape[-1], shape[0]) if len(shape) == 3 else (0, 0)
    data = load_dataset(dataset, split, data_dir, image_size=size, channels=channels)
    digest = data_digest(data.images, data.labels)
    tag = f"{extractor.card.get('sha256', extractor.name)}-{extractor.scale}"
    key = (tag, dataset, split, digest)
    if key in _MEMORY:
        return _MEMORY[key]
    path = _cache_file(extractor, dataset, split, digest)
    ref = None
    if path is not None and path.is_file():
        try:
            with np.load(path) as z:
                labels = torch.from_numpy(z["labels"]) if "labels" in z.files else None
                ref = Reference(
                    dataset,
                    split,
                    torch.from_numpy(z["features"]),
                    torch.from_numpy(z["logits"]),
                    labels,
                )
        except (OSError, ValueError, KeyError):
            ref = None  # a broken cache file is recomputed
    if ref is None:
        out = extractor.outputs(data.images)
        ref = Reference(dataset, split, out.features, out.logits, data.labels)
        if path is not None:
            _save_atomic(path, ref)
    _MEMORY[key] = ref
    return ref


def _save_atomic(path: Path, ref: Reference) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"features": ref.features.numpy(), "logits": ref.logits.numpy()}
        if ref.labels is not None:
            arrays["labels"] = ref.labels.numpy()
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
        os.fchmod(fd, file_mode())  # not mkstemp's owner-only 0600
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except OSError:
        pass  # caching is an optimisation only


def parse_metrics(text: str | list[str] | tuple[str, ...] | None) -> list[str]:
    if text is None:
        return list(DEFAULT_METRICS)
    items = text.split(",") if isinstance(text, str) else list(text)
    names = [t.strip().lower() for t in items if t.strip()]
    if "all" in names:
        return list(IMAGE_METRICS) + (["ppl"] if "ppl" in names else [])
    bad = [n for n in names if n not in METRICS]
    if bad or not names:
        raise GanforgeError(
            f"unknown metric {bad[0] if bad else text!r}: choose from {','.join(METRICS)} or all"
        )
    return list(dict.fromkeys(names))


def memorisation_threshold(train: Reference, test: Reference) -> float:
    """The MEMO_PERCENTILE-th percentile of nearest-train distances of real test images."""
    d = nearest_distances(test.features, train.features)
    return float(np.percentile(d.numpy(), MEMO_PERCENTILE))


def check_split(split: str, wanted: list[str]) -> None:
    """Refuse a reference split that is not a split, or that cannot serve ``wanted``."""
    if split not in SPLITS:
        raise GanforgeError(f"bad split {split!r}: choose test or train")
    if split != "test" and "nn" in wanted:
        raise GanforgeError("nn compares samples with the train split: use split=test for it")


def evaluate_images(
    images: torch.Tensor | np.ndarray,
    dataset: str,
    metrics: list[str] | str | None = None,
    features: str | FeatureExtractor | None = None,
    labels: torch.Tensor | np.ndarray | None = None,
    seed: int = 0,
    split: str = "test",
) -> dict[str, Any]:
    """Scores of ``images`` (N, C, H, W; float in [-1, 1] or uint8) against ``dataset``'s
    ``split`` (test by default: images G never saw; the memorisation check ``nn`` always
    compares train against test and needs ``split="test"``).

    Returns the requested metric values keyed fid, kid, is, precision, recall, density,
    coverage, cas, memorised, plus ``info`` (extractor, reference splits, sizes, threshold).
    ``labels`` are the requested classes, needed for ``cas``.
    """
    wanted = parse_metrics(metrics)
    if "ppl" in wanted:
        raise GanforgeError("ppl walks a generator's latent space: evaluate a run, not images")
    check_split(split, wanted)
    extractor = _resolve_extractor(features, dataset)
    n = int(images.shape[0])
    if n < 2:
        raise GanforgeError(f"need at least 2 images to evaluate, got {n}")
    out = extractor.outputs(images)
    test = reference(dataset, split, extractor)
    info: dict[str, Any] = {
        "n": n,
        "dataset": dataset,
        "extractor": extractor.name,
        "extractor_sha256": extractor.card.get("sha256"),
        "reference": f"{dataset} {split} split ({len(test)} images)",
    }
    scores: dict[str, Any] = {}
    gen = torch.Generator().manual_seed(seed)
    real_sub = test.features[torch.randperm(len(test), generator=gen)[:n]]
    if "fid" in wanted:
        scores["fid"] = frechet_distance(test.stats, out.features)
        info["fid_warning"] = (
            f"FD on {n} < {MIN_SAMPLES} samples is strongly biased" if n < MIN_SAMPLES else None
        )
    if "kid" in wanted:
        scores["kid"], info["kid_std"] = kernel_distance(test.features, out.features, seed=seed)
    if "is" in wanted and extractor.card.get("objective") == "rotation":
        info["is_note"] = (
            "is not computed: this extractor predicts rotations, not classes (no class logits)"
        )
    elif "is" in wanted:
        scores["is"], info["is_std"] = classifier_score(out.logits)
    if "pr" in wanted:
        scores["precision"], scores["recall"] = precision_recall(real_sub, out.features, k=3)
        info["pr_real"] = int(real_sub.shape[0])
    if "dc" in wanted:
        scores["density"], scores["coverage"] = density_coverage(real_sub, out.features, k=5)
    if "cas" in wanted:
        if labels is None:
            raise GanforgeError(
                "cas needs the requested classes: evaluate a conditional run, or pass --labels"
            )
        scores["cas"] = class_accuracy(out.logits, labels)
        info["classifier_test_accuracy"] = extractor.card.get("test_accuracy")
    if "nn" in wanted:
        train = reference(dataset, "train", extractor)
        threshold = memorisation_threshold(train, test)
        d = nearest_distances(out.features, train.features)
        scores["memorised"] = float((d < threshold).float().mean())
        info["memorisation"] = (
            f"share of samples nearer (in feature space) to a train image than "
            f"{threshold:.4g}, the {MEMO_PERCENTILE:g}th percentile of test->train distances; "
            f"real test images score {MEMO_PERCENTILE / 100:.2f}"
        )
        info["nn_reference"] = f"{dataset} train split ({len(train)} images)"
    scores["info"] = info
    return scores


def _resolve_extractor(
    features: str | FeatureExtractor | None,
    dataset: str,
    shape: tuple[int, ...] = (),
    what: str = "the run",
) -> FeatureExtractor:
    """The extractor to score ``dataset``'s images with; checked against the image ``shape``
    (C, H, W) when given, so that a mismatch stops before any sampling."""
    if isinstance(features, FeatureExtractor):
        return features
    name = features or extractor_for_dataset(dataset)
    if name is None:
        from ganforge.metrics.domain import train_command

        raise GanforgeError(
            f"no shipped feature extractor for dataset {dataset!r}: make one with "
            f"`{train_command(dataset, shape)}`, then pass --features with that file"
        )
    extractor = load_feature_extractor(name)
    want = tuple(extractor.input_shape)
    if shape and len(want) == 3 and tuple(shape) != want:
        from ganforge.metrics.domain import train_command

        raise GanforgeError(
            f"feature extractor {extractor.name} takes {'x'.join(map(str, want))} images but "
            f"{what} has {'x'.join(map(str, shape))}; make a matching one with "
            f"`{train_command(dataset, shape)}`"
        )
    return extractor


def read_npy(path: str | Path) -> np.ndarray:
    """The array in a .npy file, or a DataError saying what the file is instead.

    numpy calls any file without its magic "pickled (object) data"; a text file renamed .npy
    is not that, so the magic is checked first. Pickled object arrays are never loaded.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(6)
        if head != b"\x93NUMPY":
            what = "an empty file" if not head else "it lacks the .npy header"
            raise DataError(f"{path} is not a .npy file ({what}); write arrays with numpy.save")
        return np.load(path, allow_pickle=False)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            reason = "it holds pickled Python objects, which ganforge never loads"
        else:
            reason = str(exc)
        raise DataError(f"{path} is not a readable .npy array: {reason}") from None
    except EOFError:
        raise DataError(f"{path} is not a readable .npy array: the file is truncated") from None


def load_npy(path: str | Path) -> torch.Tensor:
    """Images from a .npy file: float in [-1, 1] or uint8, (N, C, H, W) or (N, H, W)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} not found")
    arr = read_npy(path)
    if arr.dtype != np.uint8 and not np.issubdtype(arr.dtype, np.floating):
        raise DataError(f"{path} has dtype {arr.dtype}: use float in [-1, 1] or uint8")
    if arr.dtype != np.uint8:
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        if bad:
            raise DataError(
                f"{path} holds {bad} non-finite value(s) (NaN or inf): images must be float "
                "in [-1, 1] or uint8"
            )
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4:
        raise DataError(f"{path} has shape {arr.shape}: expected (N, C, H, W) or (N, H, W)")
    return torch.from_numpy(np.ascontiguousarray(arr))


def evaluate_run(
    run: LoadedRun,
    dataset: str | None = None,
    metrics: list[str] | str | None = None,
    n: int = 10_000,
    features: str | FeatureExtractor | None = None,
    seed: int = 0,
    raw: bool = False,
    split: str = "test",
    ppl: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Scores of ``n`` samples of a loaded run (its generator, EMA if present; through its D
    for a run trained with rejection=drs unless ``raw``) against ``dataset`` (default the
    run's). ``cas`` draws the classes 0..K-1 in turn and needs a class-conditional run.
    ``ppl`` (with metric ppl): options of :func:`ganforge.metrics.ppl.run_ppl`."""
    wanted = parse_metrics(metrics)
    if "ppl" in wanted or any(v is not None for v in (ppl or {}).values()):
        from ganforge.metrics.ppl import with_ppl

        score = lambda rest: evaluate_run(run, dataset, rest, n, features, seed, raw, split)  # noqa: E731
        return with_ppl(run, wanted, ppl or {}, seed, score)
    dataset = dataset or run.cfg.dataset
    described = run.game.describe()
    classes = None
    y = None
    if "cas" in wanted:
        k = int(described.get("num_classes", 0))
        conditional = k and "y" in run.game.fixed_inputs(1, 0, run.device)
        if not conditional:
            raise GanforgeError(
                f"cas needs a class-conditional run; {run.path} is not one (drop cas)"
            )
        classes = list(range(k))
        y = torch.tensor([classes[i % k] for i in range(n)])
    drs = run.uses_rejection and not raw
    shape = tuple(described["data_shape"])
    extractor = _resolve_extractor(features, dataset, shape, f"run {run.path}")  # before sampling
    images = run.sample(n, seed, classes=classes, rejection=drs)
    result = evaluate_images(images, dataset, wanted, extractor, y, seed, split)
    result["info"]["target"] = f"{run.path} (step {run.step})"
    if drs:
        result["info"]["sampling"] = "discriminator rejection sampling (rejection=drs)"
    return result


def evaluate_npy(
    path: str | Path,
    dataset: str | None = None,
    metrics: list[str] | str | None = None,
    features: str | FeatureExtractor | None = None,
    seed: int = 0,
    labels: str | Path | None = None,
    split: str = "test",
) -> dict[str, Any]:
    """Scores of the images in a .npy file (float in [-1, 1] or uint8) against ``dataset``
    (default fashion-mnist); ``labels`` is a .npy of the requested classes (for ``cas``)."""
    path = Path(path)
    if path.suffix != ".npy":
        raise GanforgeError(f"{path}: TARGET must be a run directory or a .npy file")
    images = load_npy(path)
    y = None
    if labels is not None:
        y = torch.from_numpy(read_npy(labels).astype(np.int64))
    result = evaluate_images(images, dataset or "fashion-mnist", metrics, features, y, seed, split)
    result["info"]["target"] = str(path)
    return result
