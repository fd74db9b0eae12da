"""Time to quality: ganforge's DCGAN and the tutorial reference loop, equal wall-clock budgets.

For every budget (minutes) both train from the same seed for that long (ganforge through its
real ``run`` loop with ``minutes=B``; the reference through :class:`ReferenceLoop`), then
``--samples`` images are drawn from each generator (eval mode) and compared with the
Fashion-MNIST test split by the Fréchet distance (Heusel et al. 2017)

    FD = |mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^{1/2})

on the features of ``ganforge.metrics.features.load_feature_extractor("fashion-mnist")``.
When that extractor is not installed in this checkout, a clearly labelled PROXY is used:
the same formula on 14x14 average-pooled pixels (196-D), which ranks gross differences but is
not comparable with published FIDs. Lower is better; speed must not cost quality.

    nice -n 10 python benchmarks/time_to_quality.py --budgets 1 3 10
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_loop import ReferenceLoop  # noqa: E402

from ganforge.data import load_dataset  # noqa: E402
from ganforge.data.batches import to_unit_range  # noqa: E402
from ganforge.recipes import get_recipe  # noqa: E402
from ganforge.run_hooks import view_hooks  # noqa: E402
from ganforge.training.trainer import Trainer  # noqa: E402


def _local_frechet(a: np.ndarray, b: np.ndarray) -> float:
    """FD of two (N, D) feature sets, statistics in float64 (fallback when metrics is absent)."""
    from scipy import linalg

    a, b = a.astype(np.float64), b.astype(np.float64)
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2)
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def feature_space() -> tuple[str, Callable[[torch.Tensor], np.ndarray], Callable]:
    """(label, features of images in [-1, 1], frechet_distance)."""
    try:
        from ganforge.metrics.features import load_feature_extractor
        from ganforge.metrics.frechet import frechet_distance

        extractor = load_feature_extractor("fashion-mnist")

        @torch.no_grad()
        def feats(x: torch.Tensor) -> np.ndarray:
            return np.concatenate(
                [np.asarray(extractor(x[i : i + 500])) for i in range(0, len(x), 500)]
            )

        return "FD (fashion-mnist feature extractor)", feats, frechet_distance
    except ImportError:

        def pooled(x: torch.Tensor) -> np.ndarray:
            return F.avg_pool2d(x.float(), 2).flatten(1).numpy()

        try:
            from ganforge.metrics.frechet import frechet_distance as fd
        except ImportError:
            fd = _local_frechet
        return "PROXY FD (14x14 pooled pixels; metrics extractor not installed)", pooled, fd


@torch.no_grad()
def samples(G: torch.nn.Module, z_dim: int, n: int, seed: int) -> torch.Tensor:
    G.eval()
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, z_dim, generator=gen)
    return torch.cat([G(z[i : i + 500]).float().contiguous() for i in range(0, n, 500)])


def run_ganforge(minutes: float, seed: int, precision: str, out: Path):
    cfg = get_recipe("dcgan").config(
        minutes=minutes, seed=seed, device="cpu", precision=precision, checkpoint_minutes=0
    )
    trainer = Trainer(cfg, out, progress=False, hooks=view_hooks(cfg))
    summary = trainer.run()
    return trainer.game.G, summary.steps, cfg.z_dim


def run_reference(minutes: float, seed: int):
    loop = ReferenceLoop("dcgan", 64, seed=seed)
    steps = loop.train_for(minutes * 60)
    return loop.G, steps, loop.cfg.z_dim


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budgets", nargs="+", type=float, default=[1, 3, 10], help="minutes")
    ap.add_argument("--samples", type=int, default=10000, help=">= 2048 for a stable FD")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--precision", nargs="+", default=["fp32"], choices=("fp32", "bf16"))
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.samples < 2048:
        ap.error("--samples must be >= 2048: FD from fewer samples is biased and unstable")
    if args.threads:
        torch.set_num_threads(args.threads)
    label, feats, fd = feature_space()
    real = to_unit_range(load_dataset("fashion-mnist", "test").images)[: args.samples]
    real_f = feats(real)
    print(f"{label}; real: {len(real)} test images; {args.samples} samples per generator")
    print("| budget (min) | loop | steps | images seen | FD |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="ganforge-ttq-") as tmp:
        for minutes in args.budgets:
            runs = {"reference fp32": lambda m=minutes: run_reference(m, args.seed)}
            for prec in args.precision:
                runs[f"ganforge {prec}"] = lambda m=minutes, p=prec: run_ganforge(
                    m, args.seed, p, Path(tmp) / f"{p}-{m}"
                )
            for name, fn in runs.items():
                t = time.monotonic()
                G, steps, z_dim = fn()
                wall = time.monotonic() - t
                score = fd(real_f, feats(samples(G, z_dim, args.samples, args.seed + 1)))
                print(
                    f"| {minutes:g} | {name} | {steps} | {steps * 64} | {score:.2f} |"
                    f"  <!-- {wall:.0f} s incl. setup -->",
                    flush=True,
                )


if __name__ == "__main__":
    main()
