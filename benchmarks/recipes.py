"""Train every image recipe for a fixed wall-time budget on Fashion-MNIST and tabulate the result.

    python benchmarks/recipes.py --budget 60                      # all 12 recipes, 60 s each
    python benchmarks/recipes.py --conditional-accuracy --budget 180

The first form writes, per recipe: generator steps, images/s (real images through D per second,
i.e. batch * n_critic * steps / wall), the last logged losses and, when the metrics package is
importable (``ganforge.metrics.features`` / ``ganforge.metrics.frechet``), the Fréchet distance
in the Fashion-MNIST classifier's feature space between ``--fd-samples`` samples and the test
set. The second trains the conditional recipes (cgan, cgan-matching, acgan, projection), draws
1,000 samples per requested class and reports the share the classifier assigns to that class.
Without the metrics package a small CNN classifier is trained here first (its test accuracy is
reported with the numbers), so the accuracy can still be measured.

Results replace their section of docs/bench/recipes.md (with the exact command line).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganforge import api
from ganforge.data import load_dataset
from ganforge.data.batches import to_unit_range
from ganforge.recipes import RECIPES
from ganforge.run_hooks import view_hooks
from ganforge.training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "bench" / "recipes.md"
CONDITIONAL = ["cgan", "cgan-matching", "acgan", "projection"]


# -- the classifier / feature extractor ----------------------------------------------------
def metrics_extractor():
    """The metrics issue's Fashion-MNIST network, or None when that package is absent."""
    try:
        from ganforge.metrics.features import load_feature_extractor
    except ImportError:
        return None
    return load_feature_extractor(name="fashion-mnist", device="cpu")


class SmallCNN(nn.Module):
    """Fallback classifier: conv32-conv64 (stride 2) - FC128 - FC10, for [-1, 1] inputs."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, 2, 1),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, 2, 1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, 128),
            nn.ReLU(),
        )
        self.head = nn.Linear(128, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def train_fallback_classifier(seconds: float, seed: int = 0) -> tuple[SmallCNN, float]:
    """Train SmallCNN on the Fashion-MNIST train split for ``seconds``; (model, test accuracy)."""
    torch.manual_seed(seed)
    train = load_dataset("fashion-mnist", "train", None, 0, 0)
    test = load_dataset("fashion-mnist", "test", None, 0, 0)
    model = SmallCNN()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    end = time.monotonic() + seconds
    gen = torch.Generator().manual_seed(seed)
    while time.monotonic() < end:
        idx = torch.randint(0, len(train), (128,), generator=gen)
        x, y = to_unit_range(train.images[idx]), train.labels[idx]
        loss = F.cross_entropy(model.logits(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(test), 1000):
            x = to_unit_range(test.images[i : i + 1000])
            correct += (model.logits(x).argmax(1) == test.labels[i : i + 1000]).sum().item()
    return model, correct / len(test)


@torch.no_grad()
def _apply(fn, x: torch.Tensor, chunk: int = 500):
    outs = [fn(x[i : i + chunk]) for i in range(0, len(x), chunk)]
    if isinstance(outs[0], torch.Tensor):
        return torch.cat([o.detach().double() for o in outs])
    import numpy as np

    return np.concatenate([np.asarray(o, dtype=np.float64) for o in outs])


# -- the two modes ----------------------------------------------------------------------------
def train_one(recipe: str, out: Path, args) -> tuple[Any, api.LoadedRun]:
    """Train ``recipe`` for the budget; (summary, the trained sampler in eval mode).

    The sampler comes from the trainer in memory (EMA weights when on), not from the
    checkpoint on disk, so the benchmark does not depend on reloading.
    """
    overrides = {
        "minutes": args.budget / 60,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "device": "cpu",
        "checkpoint_minutes": 0,
        "log_every": 20,
    }
    if args.width:
        overrides.update(g_width=args.width, d_width=args.width)
    cfg = api.make_config(recipe, overrides)
    trainer = Trainer(cfg, out, force=True, progress=False, hooks=view_hooks(cfg))
    summary = trainer.run()
    trainer.game.eval()
    G = trainer.sampler().eval()
    return summary, api.LoadedRun(out, cfg, trainer.game, G, trainer.step, trainer.device)


def bench_all(args, extractor) -> list[dict]:
    real_feats = None
    if extractor is not None:
        from ganforge.metrics.frechet import frechet_distance

        test = load_dataset("fashion-mnist", "test", None, 0, 0)
        real_feats = _apply(extractor.features, to_unit_range(test.images))
    rows = []
    for recipe in args.recipes:
        t0 = time.monotonic()
        s, run = train_one(recipe, Path(args.runs) / recipe, args)
        row = {
            "recipe": recipe,
            "steps": s.steps,
            "images_per_sec": s.images_per_sec,
            "g_steps_per_sec": round(s.steps / s.wall_seconds, 2),
            "d_loss": s.d_loss,
            "g_loss": s.g_loss,
        }
        if extractor is not None:
            fake = run.sample(args.fd_samples, seed=1)
            row["fd"] = float(frechet_distance(real_feats, _apply(extractor.features, fake)))
        row["total_s"] = round(time.monotonic() - t0, 1)
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def bench_conditional(args, classifier) -> list[dict]:
    rows = []
    for recipe in [r for r in args.recipes if r in CONDITIONAL]:
        s, run = train_one(recipe, Path(args.runs) / f"cond-{recipe}", args)
        per_class = []
        for k in range(10):
            x = run.sample(args.per_class, seed=100 + k, classes=[k])
            pred = _apply(classifier.logits, x)
            pred = torch.as_tensor(pred).argmax(1)
            per_class.append((pred == k).double().mean().item())
        row = {
            "recipe": recipe,
            "steps": s.steps,
            "images_per_sec": s.images_per_sec,
            "accuracy": round(sum(per_class) / 10, 4),
            "worst_class": round(min(per_class), 4),
            "best_class": round(max(per_class), 4),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


# -- the report -----------------------------------------------------------------------------
def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else str(v)
    return str(v)


def _section(text: str, key: str, body: str) -> str:
    begin, end = f"<!-- bench:{key}:begin -->", f"<!-- bench:{key}:end -->"
    block = f"{begin}\n{body}\n{end}"
    if begin in text:
        start, stop = text.index(begin), text.index(end) + len(end)
        return text[:start] + block + text[stop:]
    return text.rstrip() + "\n\n" + block + "\n"


def write_report(args, rows, cols, title: str, key: str, note: str) -> None:
    head = "| " + " | ".join(c for c, _ in cols) + " |\n|" + "---|" * len(cols)
    lines = ["| " + " | ".join(_fmt(r.get(k)) for _, k in cols) + " |" for r in rows]
    cmd = "python " + " ".join(shlex.quote(a) for a in ["benchmarks/recipes.py", *sys.argv[1:]])
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()[0]
    body = (
        f"## {title}\n\n{note}\n\nCommand ({stamp}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s), {os.cpu_count()} CPUs, load average "
        f"{load:.1f} at the end):\n\n```\n{cmd}\n```\n\n" + head + "\n" + "\n".join(lines)
    )
    text = (
        DOC.read_text()
        if DOC.exists()
        else (
            "# Recipes benchmark\n\nProduced by `benchmarks/recipes.py` (see its docstring). "
            "Timings are from a shared machine and noisy; compare rows of one run only.\n"
        )
    )
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(_section(text, key, body))
    print(f"wrote {DOC}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, default=60.0, help="seconds of training per recipe")
    p.add_argument("--recipes", default=",".join(RECIPES), help="comma-separated recipe names")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--width", type=int, default=0, help="g_width = d_width (0: the recipe's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--fd-samples", type=int, default=2048, help="samples for the FD (>= 2048)")
    p.add_argument("--conditional-accuracy", action="store_true")
    p.add_argument("--per-class", type=int, default=1000, help="samples per requested class")
    p.add_argument(
        "--classifier-seconds", type=float, default=60.0, help="fallback classifier training"
    )
    p.add_argument("--runs", default="/tmp/ganforge-bench-recipes", help="run directories")
    p.add_argument("--no-write", action="store_true", help="print only")
    args = p.parse_args()
    args.recipes = [r.strip() for r in args.recipes.split(",") if r.strip()]
    unknown = [r for r in args.recipes if r not in RECIPES]
    if unknown:
        p.error(f"unknown recipe {unknown[0]!r}")
    if args.fd_samples < 2048:
        p.error("--fd-samples must be at least 2048 (FD is biased with fewer samples)")
    torch.set_num_threads(args.threads)
    extractor = metrics_extractor()
    if args.conditional_accuracy:
        if extractor is not None:
            classifier, source = extractor, "the metrics package's Fashion-MNIST classifier"
        else:
            classifier, acc = train_fallback_classifier(args.classifier_seconds, args.seed)
            source = (
                f"a fallback SmallCNN trained here for {args.classifier_seconds:g} s "
                f"(test accuracy {acc:.3f}); the metrics package was not importable"
            )
            print(f"fallback classifier test accuracy {acc:.4f}", flush=True)
        rows = bench_conditional(args, classifier)
        cols = [
            ("recipe", "recipe"),
            ("G steps", "steps"),
            ("images/s", "images_per_sec"),
            ("accuracy (mean over classes)", "accuracy"),
            ("worst class", "worst_class"),
            ("best class", "best_class"),
        ]
        note = (
            f"Each recipe trained {args.budget:g} s; then {args.per_class} samples per class "
            f"0..9 were drawn with `--class K` and classified by {source}. Accuracy = share of "
            "samples whose predicted class is the requested one (chance: 0.1)."
        )
        if not args.no_write:
            write_report(args, rows, cols, "Conditional accuracy", "conditional", note)
        return
    rows = bench_all(args, extractor)
    cols = [
        ("recipe", "recipe"),
        ("G steps", "steps"),
        ("images/s", "images_per_sec"),
        ("G steps/s", "g_steps_per_sec"),
        ("final d_loss", "d_loss"),
        ("final g_loss", "g_loss"),
    ]
    if extractor is not None:
        cols.append((f"FD ({args.fd_samples} samples vs test set)", "fd"))
    note = (
        f"Each recipe trained for {args.budget:g} s of wall time on Fashion-MNIST (CPU). "
        "images/s = real images through D per second (batch × n_critic × G steps / wall); "
        "losses are the mean of the last logging interval"
        + (
            "; FD in the metrics classifier's feature space."
            if extractor is not None
            else "; no quality column: the metrics package was not importable."
        )
    )
    if not args.no_write:
        write_report(args, rows, cols, "Fixed wall-time budget", "budget", note)


if __name__ == "__main__":
    main()
