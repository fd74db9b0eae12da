"""projection, hinge-sn, sagan and biggan on Fashion-MNIST at equal wall time (issue 21).

    python benchmarks/attention_scale.py --minutes 30 --seeds 3     # the real benchmark
    python benchmarks/attention_scale.py --smoke                     # seconds: the plumbing

Per recipe and seed: generator steps, FD (our Fashion-MNIST extractor, test split), the
conditional accuracy ``cas`` overall and per class (1,000 samples per class classified by our
classifier, which scores 92.6 % on real test images), and for biggan the truncation curve: FD,
precision, recall and the classifier score (IS analogue) per threshold T of |z| (resampled
truncation, Brock et al. 2019, figure 2's trade-off). hinge-sn is unconditional: no cas.
Writes docs/bench/attention.md (and .json) with the command line; ``--smoke`` writes into
``--out`` only (default runs/attention-smoke) and never touches docs.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import torch

from ganforge import api
from ganforge.metrics.evaluate import evaluate_images

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_runs import Results, train_for  # noqa: E402
from machine import by_cpu, cpu_description, load_average  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "bench" / "attention.md"
RECIPES = ("projection", "hinge-sn", "sagan", "biggan")
THRESHOLDS = (2.0, 1.5, 1.0, 0.75, 0.5, 0.25)
CLASSES = 10


@torch.no_grad()
def draw(loaded, n: int, seed: int, classes: list[int] | None, threshold: float | None):
    """``n`` images of the run's sampled G (EMA if any), classes cycled, z truncated at T."""
    game = loaded.game
    kw = {"classes": classes} if classes else {}
    out = []
    for start in range(0, n, 500):
        m = min(500, n - start)
        inputs = game.fixed_inputs(m, seed + start, loaded.device, **kw)
        if threshold is not None:
            inputs = game.truncate(inputs, threshold, torch.Generator().manual_seed(seed + start))
        out.append(game.render(loaded.G, inputs).clamp(-1, 1).cpu())
    return torch.cat(out)


def score(run: Path, n: int, per_class: int, seed: int, truncation: bool) -> dict[str, Any]:
    loaded = api.load_run(run, device="cpu")
    conditional = bool(loaded.game.describe().get("num_classes"))
    result: dict[str, Any] = {"steps": loaded.step}
    images = draw(loaded, n, seed, None, None)
    result["fd"] = evaluate_images(images, "fashion-mnist", ["fid"])["fid"]
    if conditional:
        per = {}
        for k in range(CLASSES):
            x = draw(loaded, per_class, seed + 1 + k, [k], None)
            labels = torch.full((per_class,), k)
            per[k] = evaluate_images(x, "fashion-mnist", ["cas"], labels=labels)["cas"]
        result["cas_per_class"] = per
        result["cas"] = statistics.fmean(per.values())
    if truncation:
        curve = []
        for t in THRESHOLDS:
            x = draw(loaded, n, seed, None, t)
            s = evaluate_images(x, "fashion-mnist", ["fid", "pr", "is"])
            curve.append(
                {"threshold": t, **{k: s[k] for k in ("fid", "precision", "recall", "is")}}
            )
        result["truncation"] = curve
    return result


def run_all(args: argparse.Namespace, results: Results, cpu: str, load: str) -> list[dict]:
    """Train and score every (recipe, seed) not yet in ``results`` for this CPU; all rows of
    every CPU, in recipe and seed order (rows are kept per CPU: equal wall time buys different
    numbers of steps on different machines)."""
    budget = {"steps": 3} if args.smoke else {"minutes": args.minutes}
    small = {"g_width": 8, "d_width": 8, "batch_size": 16} if args.smoke else {}
    for recipe in [] if args.page_only else args.recipes:
        for seed in range(args.seeds):
            key = f"{recipe}-s{seed}|{cpu}"
            if key in results:
                continue
            out = Path(args.out) / f"{recipe}-s{seed}"
            facts = train_for(recipe, out, seed=seed, dataset="fashion-mnist", report=False,
                              **budget, **small)  # fmt: skip
            row = {"recipe": recipe, "seed": seed, "cpu": cpu, "load_at_start": load,
                   "wall_s": round(float(facts.get("wall_seconds", 0.0)), 1)}  # fmt: skip
            row.update(score(out, args.n, args.per_class, seed, recipe == "biggan"))
            print(json.dumps(row), flush=True)
            results.put(key, row)
    order = {r: i for i, r in enumerate(RECIPES)}
    return sorted(results.items.values(), key=lambda r: (order[r["recipe"]], r["seed"]))


def headline(rows: list[dict[str, Any]], minutes: float) -> str:
    """Median FD and cas (worst class) per recipe over its seeds."""
    parts = []
    for recipe in RECIPES:
        mine = [r for r in rows if r["recipe"] == recipe]
        if not mine:
            continue
        text = f"`{recipe}` FD {statistics.median(r['fd'] for r in mine):.1f}"
        if "cas" in mine[0]:
            worst = min(min(r["cas_per_class"].values()) for r in mine)
            text += (
                f", cas {statistics.median(r['cas'] for r in mine):.3f} (worst class {worst:.2f})"
            )
        parts.append(text)
    seeds = max(Counter(r["recipe"] for r in rows).values())
    return (
        f"**Result.** After {minutes:g} minutes per run, median of {seeds} seed(s): "
        + "; ".join(parts)
        + "."
    )


def verdict(rows: list[dict[str, Any]]) -> str:
    """The issue's goals per attention recipe: cas >= 0.95 and median FD below projection's."""
    med = {
        r: statistics.median(x["fd"] for x in rows if x["recipe"] == r)
        for r in RECIPES
        if any(x["recipe"] == r for x in rows)
    }
    steps = {r: statistics.median(x["steps"] for x in rows if x["recipe"] == r) for r in med}
    if "projection" not in med:
        return ""
    parts = []
    for recipe in ("sagan", "biggan"):
        if recipe not in med:
            continue
        cas = statistics.median(x["cas"] for x in rows if x["recipe"] == recipe)
        fd_ok, cas_ok = med[recipe] < med["projection"], cas >= 0.95
        state = "met" if fd_ok and cas_ok else "not met"
        parts.append(
            f"`{recipe}` goal {state}: cas {cas:.3f} ({'>=' if cas_ok else '<'} 0.95), FD "
            f"{med[recipe]:.2f} ({'<' if fd_ok else '>='} projection's {med['projection']:.2f}), "
            f"{steps[recipe]:.0f} generator steps against projection's {steps['projection']:.0f}"
        )
    return "**Goals.** " + "; ".join(parts) + "."


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| recipe | seed | steps | FD | cas | cas per class (0-9) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        per = r.get("cas_per_class")
        cells = " ".join(f"{per[k]:.2f}" for k in sorted(per)) if per else "—"
        cas = f"{r['cas']:.3f}" if "cas" in r else "—"
        lines.append(
            f"| {r['recipe']} | {r['seed']} | {r['steps']} | {r['fd']:.2f} | {cas} | {cells} |"
        )
    trunc = [r for r in rows if "truncation" in r]
    if trunc:
        lines += ["", "biggan truncation curve (resampled |z| > T):", ""]
        lines += [
            "| seed | T | FD | precision | recall | IS analogue |",
            "|---|---|---|---|---|---|",
        ]
        for r in trunc:
            for c in r["truncation"]:
                lines.append(f"| {r['seed']} | {c['threshold']} | {c['fid']:.2f} | "
                             f"{c['precision']:.3f} | {c['recall']:.3f} | {c['is']:.2f} |")  # fmt: skip
    return "\n".join(lines)


def plot_truncation(rows: list[dict[str, Any]], path: Path) -> Path | None:
    """BigGAN's trade-off curve: FD against the IS analogue, one point per threshold."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    trunc = [r for r in rows if "truncation" in r]
    if not trunc:
        return None
    fig = Figure(figsize=(5, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for r in trunc:
        xs = [c["is"] for c in r["truncation"]]
        ys = [c["fid"] for c in r["truncation"]]
        cpu = r.get("cpu", "").split(",")[0]
        ax.plot(
            xs, ys, marker="o", label=f"seed {r['seed']}, {cpu}" if cpu else f"seed {r['seed']}"
        )
        for c in r["truncation"]:
            ax.annotate(f"{c['threshold']:g}", (c["is"], c["fid"]), fontsize=7)
    ax.set_xlabel("IS analogue (our classifier)")
    ax.set_ylabel("FD (our extractor)")
    ax.set_title("biggan: truncation threshold T")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    return path


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=30.0, help="wall-time budget per run")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=RECIPES)
    p.add_argument("--n", type=int, default=10_000, help="samples for FD")
    p.add_argument("--per-class", type=int, default=1000, help="samples per class for cas")
    p.add_argument("--out", default="runs/attention-bench")
    p.add_argument("--smoke", action="store_true", help="3 steps, tiny widths, few samples")
    p.add_argument("--fresh", action="store_true", help="score every run again")
    p.add_argument("--page-only", action="store_true", help="train nothing: rewrite the page")
    args = p.parse_args(argv)
    load = load_average()
    if args.smoke:
        args.seeds, args.n, args.per_class = 1, 64, 16
        args.out = args.out if args.out != "runs/attention-bench" else "runs/attention-smoke"
    store = Path(args.out) / "rows.json" if args.smoke else DOC.with_suffix(".json")
    cpu = cpu_description()
    rows = run_all(args, Results(store, fresh=args.fresh or args.smoke), cpu, load)
    print(table(rows))
    if args.smoke:
        plot_truncation(rows, Path(args.out) / "truncation.png")
        return
    plot_truncation(rows, DOC.parent.parent / "img" / "attention-truncation.png")
    argv = [a for a in (argv or sys.argv[1:]) if a != "--page-only"]
    command = "python " + shlex.join(["benchmarks/attention_scale.py", *argv])
    lines = [
        "# Attention and scale: projection, hinge-sn, sagan, biggan at equal wall time",
        "",
        f"`{command}`, {args.minutes:g} min per run; FD with our Fashion-MNIST extractor on "
        f"{args.n} samples against the test split; cas: {args.per_class} samples per class "
        "classified by our classifier (92.6 % on real test images; goal: sagan and biggan "
        ">= 95 % and FD below projection). One section per CPU: equal wall time buys different "
        "numbers of steps on different machines.",
    ]
    for name, mine in by_cpu(rows, cpu).items():
        loads = "; ".join(sorted({r.get("load_at_start", "?") for r in mine}))
        lines += ["", f"## {name}", "", f"Load average at start: {loads}.", "",
                  headline(mine, args.minutes), "", verdict(mine), "", table(mine)]  # fmt: skip
    lines += ["", "![biggan truncation curve](../img/attention-truncation.png)", ""]
    DOC.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
