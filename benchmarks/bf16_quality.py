"""bf16 or fp32: sample quality of the default recipe at equal wall time on this CPU.

Issue 19 asks whether ``--precision auto`` should pick bf16 autocast where the CPU computes bf16
natively (AVX-512 BF16 or AMX). Speed alone does not decide it: bf16 rounds activations and
gradients to 8 mantissa bits, so more steps per minute may buy a worse generator. For every
budget (minutes) and seed, the recipe trains for that long once in fp32 and once in bf16
(an ordinary run folder each, resumed after a stop for the minutes it has left); then
``--samples`` images of each generator (eval mode, the EMA generator, drawn in fp32) are
compared with the Fashion-MNIST test split by the Fréchet distance on our shipped extractor

    FD = |mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^{1/2})

(float64 statistics). The page gives, per CPU measured, median FD over seeds with the range,
the ratio bf16/fp32 of the medians (below 1: bf16 is better at equal time) and the steps each
reached.

    python benchmarks/bf16_quality.py --budgets 3 10 --seeds 3 --doc docs/bench

Each (precision, budget, seed, CPU) is kept in DOC/bf16.json once scored, so the benchmark
survives stops and a page can hold CPUs of both kinds; ``--fresh`` measures again. Figures mean
something only on a quiet machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_runs import Results, add_fd_options, parse_fd_options, timed_recipe_fd  # noqa: E402
from machine import cpu_description, load_average  # noqa: E402

from ganforge.recipes import DEFAULT_RECIPE  # noqa: E402
from ganforge.training.precision import cpu_has_native_bf16  # noqa: E402

PRECISIONS = ("fp32", "bf16")


def measure(recipe: str, precision: str, minutes: float, seed: int, args) -> dict:
    """Train ``recipe`` in ``precision`` for ``minutes`` and score its generator."""
    scored = timed_recipe_fd(args.runs, recipe, precision, minutes, seed, args.samples)
    return {"recipe": recipe, "precision": precision, "minutes": minutes, "seed": seed,
            **scored, "load": load_average()}  # fmt: skip


def cell(rows: list[dict]) -> tuple[str, float | None, str]:
    """('median [min, max] (n)', median, median steps) of some scored runs."""
    if not rows:
        return "—", None, "—"
    fds = [r["fd"] for r in rows]
    steps = str(int(statistics.median(r["steps"] for r in rows)))
    med = statistics.median(fds)
    return f"{med:.2f} [{min(fds):.2f}, {max(fds):.2f}] (n={len(fds)})", med, steps


def cpu_table(rows: list[dict], budgets: list[float]) -> tuple[list[str], list[tuple]]:
    """The markdown table of one CPU and its (minutes, ratio bf16/fp32) where both ran."""
    lines = [
        "| minutes | fp32 FD | bf16 FD | ratio bf16/fp32 | fp32 steps | bf16 steps |",
        "|---|---|---|---|---|---|",
    ]
    ratios = []
    for m in budgets:
        got = {p: cell([r for r in rows if r["precision"] == p and r["minutes"] == m])
               for p in PRECISIONS}  # fmt: skip
        (a, fa, sa), (b, fb, sb) = got["fp32"], got["bf16"]
        ratio = fb / fa if fa and fb is not None else None
        if ratio is not None:
            ratios.append((m, ratio))
        lines.append(f"| {m:g} | {a} | {b} | {f'{ratio:.2f}' if ratio else '—'} | {sa} | {sb} |")
    return lines, ratios


def page(results: Results, recipe: str, budgets: list[float], here: str, args) -> str:
    cpus = sorted({k.split("|")[-1] for k in results.items}, key=lambda c: c != here)
    text = [
        "# bf16 or fp32: the default recipe's sample quality at equal wall time (issue 19)",
        "",
        f"`python benchmarks/bf16_quality.py --recipe {recipe} --budgets "
        f"{' '.join(f'{b:g}' for b in budgets)} --seeds {args.seeds}`, torch "
        f"{torch.__version__}, 2 threads, nothing else running. FD of {args.samples} samples "
        "(EMA generator, drawn in fp32) against the Fashion-MNIST test split with our shipped "
        "extractor; median over seeds with [min, max]. A ratio below 1 means bf16 trains the "
        "better generator in the same minutes.",
        "",
    ]
    worse = []  # (cpu, minutes) where native bf16 did not beat fp32
    for cpu in cpus:
        rows = [v for k, v in results.items.items()
                if k.split("|")[-1] == cpu and v["recipe"] == recipe]  # fmt: skip
        if not rows:
            continue
        native = rows[0].get("native_bf16")
        lines, ratios = cpu_table(rows, budgets)
        worse += [(cpu, m) for m, r in ratios if native and r >= 1]
        kind = {True: "native bf16", False: "no native bf16 (emulated)"}.get(native, "")
        text += [f"## {cpu} ({kind})", ""]
        if cpu == here and ratios:
            text += [
                f"**Result.** On {cpu} ({kind}), median FD bf16/fp32 at equal wall time: "
                + ", ".join(f"{r:.2f} at {m:g} min" for m, r in ratios)
                + " (below 1: bf16 better); `--precision auto` picks bf16 on such CPUs.",
                "",
            ]
        text += lines + [""]
    text += [
        "## The decision",
        "",
        "`--precision auto`, the default, picks bf16 autocast on a CPU with native bf16 and "
        "fp32 on any other (src/ganforge/training/precision.py, `resolve`). It is kept only "
        "while every ratio measured on such a CPU stays below 1; a run saves the precision it "
        "used in config.json, so a resume on another CPU keeps it. "
        + (
            f"**Revisit it:** bf16 was not better at {worse}."
            if worse
            else "Every ratio measured with native bf16 is below 1."
        ),
        "",
        "## CPUs without native bf16",
        "",
        "Not measured for FD: there bf16 autocast is emulated and trains fewer steps per minute "
        "than fp32 (dcgan step 0.55x of fp32 on an Intel Xeon with AVX-512 but no AVX-512 BF16, "
        "0.07x on AVX2; speed.md, A3b and A3), so `--precision auto` picks fp32 on them and "
        "`--precision bf16` warns.",
        "",
    ]
    return "\n".join(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default=DEFAULT_RECIPE)
    ap.add_argument("--budgets", nargs="+", type=float, default=[3, 10], help="minutes")
    ap.add_argument("--seeds", type=int, default=3)
    add_fd_options(ap, runs="runs/bf16")
    args = parse_fd_options(ap)
    cpu = cpu_description()
    print(f"load average {load_average()}; {cpu}; native bf16 {cpu_has_native_bf16()}")
    results = Results(args.doc / "bf16.json", fresh=args.fresh)
    for minutes in [] if args.page_only else args.budgets:
        for seed in range(args.seeds):
            for precision in PRECISIONS:
                key = f"{args.recipe}|{precision}|{minutes:g}|{seed}|{cpu}"
                if key not in results:
                    row = measure(args.recipe, precision, minutes, seed, args)
                    results.put(key, dict(row, native_bf16=cpu_has_native_bf16()))
                    print(results[key], flush=True)
    text = page(results, args.recipe, args.budgets, cpu, args)
    args.doc.mkdir(parents=True, exist_ok=True)
    (args.doc / "bf16.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
