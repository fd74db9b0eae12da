"""Conditional recipes draw the asked class: per-class accuracy after a wall-clock budget (issue 19).

Trains ``cgan``, ``cgan-matching``, ``acgan`` and ``projection`` on Fashion-MNIST for
``--minutes`` each, then draws ``--per-class`` samples of every class (the EMA generator where
the recipe keeps one) and classifies them with our shipped classifier (``cas``). Beside each
class: the classifier's own accuracy on the real test images of that class, the ceiling. The
issue's bar: for every class, cas >= 0.95 x the real-image accuracy; the worst class is named.

    python benchmarks/conditional.py --minutes 10 --doc docs/bench

Runs are ordinary run folders under ``--runs`` (an interrupted one resumes for the minutes it
has left); each recipe's scores are kept in DOC/conditional.json once measured, so the benchmark
survives stops (``--fresh`` measures again).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_runs import Results, train_for  # noqa: E402
from machine import cpu_description, load_average  # noqa: E402

from ganforge import api  # noqa: E402
from ganforge.data import load_dataset  # noqa: E402
from ganforge.data.batches import to_unit_range  # noqa: E402
from ganforge.metrics.evaluate import evaluate_images  # noqa: E402

RECIPES = ("cgan", "cgan-matching", "acgan", "projection")
CLASSES = 10
BAR = 0.95


def real_accuracy() -> list[float]:
    """The classifier's accuracy on the real test images of each class."""
    test = load_dataset("fashion-mnist", "test")
    labels = torch.as_tensor(test.labels)
    images = to_unit_range(torch.as_tensor(test.images))
    out = []
    for k in range(CLASSES):
        x = images[labels == k]
        out.append(
            float(evaluate_images(x, "fashion-mnist", ["cas"], labels=labels[labels == k])["cas"])
        )
    return out


def measure(recipe: str, args: argparse.Namespace) -> dict:
    run = args.runs / recipe
    facts = train_for(recipe, run, args.minutes, seed=args.seed, report=False)
    loaded = api.load_run(run, device="cpu")
    per = []
    for k in range(CLASSES):
        x = loaded.sample(args.per_class, args.seed + 1 + k, classes=[k])
        labels = torch.full((args.per_class,), k)
        per.append(float(evaluate_images(x, "fashion-mnist", ["cas"], labels=labels)["cas"]))
    return {"recipe": recipe, "steps": facts.get("steps"),
            "wall_seconds": facts.get("wall_seconds"), "cas_per_class": per,
            "load": load_average()}  # fmt: skip


def page(rows: list[dict], real: list[float], args: argparse.Namespace, load: str) -> str:
    names = load_dataset("fashion-mnist", "test").class_names or [str(k) for k in range(CLASSES)]
    head_cells = []
    lines = [
        "| recipe | steps | " + " | ".join(names) + " | worst class (cas / real) |",
        "|---|---|" + "---|" * CLASSES + "---|",
        "| real test images | — | " + " | ".join(f"{a:.3f}" for a in real) + " | — |",
    ]
    for r in rows:
        ratio = [c / a for c, a in zip(r["cas_per_class"], real, strict=True)]
        worst = min(range(CLASSES), key=lambda k: ratio[k])
        verdict = "meets" if ratio[worst] >= BAR else "misses"
        head_cells.append(f"`{r['recipe']}` {verdict} it (worst {names[worst]} {ratio[worst]:.2f})")
        lines.append(
            f"| `{r['recipe']}` | {r['steps']} | "
            + " | ".join(f"{c:.3f}" for c in r["cas_per_class"])
            + f" | {names[worst]}: {ratio[worst]:.2f} |"
        )
    return "\n".join([
        "# Conditional recipes: does G draw the asked class? (issue 19)",
        "",
        f"`python benchmarks/conditional.py --minutes {args.minutes:g}` on {cpu_description()} "
        f"(load average at start {load}), torch {torch.__version__}. {args.per_class} samples "
        "per class, classified by our shipped Fashion-MNIST classifier; the first row is its "
        f"accuracy on the real test images of each class. Bar: cas >= {BAR} x that, per class.",
        "",
        "**Result.** After " + f"{args.minutes:g} minutes: " + "; ".join(head_cells) + ".",
        "",
        *lines,
        "",
    ])  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--recipes", default=",".join(RECIPES))
    p.add_argument("--per-class", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", type=Path, default=Path("runs/conditional-bench"))
    p.add_argument("--doc", type=Path, default=Path("docs/bench"))
    p.add_argument("--fresh", action="store_true")
    args = p.parse_args()
    load = load_average()
    print(f"load average {load}; {cpu_description()}", flush=True)
    results = Results(args.doc / "conditional.json", fresh=args.fresh)
    if "real" not in results:
        results.put("real", real_accuracy())
    for recipe in args.recipes.split(","):
        if recipe not in results:
            results.put(recipe, measure(recipe, args))
            print(results[recipe], flush=True)
    rows = [results[r] for r in RECIPES if r in results]
    text = page(rows, results["real"], args, load)
    (args.doc / "conditional.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
