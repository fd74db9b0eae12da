"""Time to quality: a ganforge recipe against the tutorial reference loop at equal wall time.

For every budget (minutes) and seed, both train for that long on Fashion-MNIST: the recipe
through ganforge's own loop (an ordinary run folder, resumed after a stop for the minutes it has
left), the reference through :class:`reference_loop.ReferenceLoop` (the notes' tutorial DCGAN
loop with ganforge's DCGAN networks). Then ``--samples`` images of each generator (eval mode;
the EMA generator where the recipe keeps one) are compared with the test split by the Fréchet
distance (Heusel et al. 2017) on our shipped Fashion-MNIST extractor's features

    FD = |mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^{1/2})

(:func:`ganforge.metrics.evaluate.evaluate_images`, float64 statistics). Neither loop trains
with that extractor or anything fitted to the test split. The table gives per budget the
median over seeds with the range, and the ratio of the medians (issue 19's goal: <= 0.5).

    python benchmarks/time_to_quality.py --budgets 1 3 5 10 --seeds 3 --doc docs/bench

Each (loop, precision, budget, seed, CPU) is kept in DOC/time-to-quality.json once scored, so
the benchmark survives stops; ``--fresh`` measures again. Figures mean something only on a quiet machine.
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
from reference_loop import ReferenceLoop  # noqa: E402

from ganforge.metrics.evaluate import evaluate_images  # noqa: E402
from ganforge.recipes import DEFAULT_RECIPE  # noqa: E402

REFERENCE = "reference"


@torch.no_grad()
def reference_samples(G: torch.nn.Module, z_dim: int, n: int, seed: int) -> torch.Tensor:
    G.eval()
    z = torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))
    return torch.cat([G(z[i : i + 500]).float() for i in range(0, n, 500)]).clamp(-1, 1)


def measure(loop: str, minutes: float, seed: int, args: argparse.Namespace) -> dict:
    """Train one loop for ``minutes`` and score its generator."""
    if loop == REFERENCE:
        ref = ReferenceLoop("dcgan", 64, seed=seed)
        steps = ref.train_for(minutes * 60)
        images = reference_samples(ref.G, ref.cfg.z_dim, args.samples, seed + 1)
        scored = {"steps": steps, "wall_seconds": minutes * 60,
                  "fd": float(evaluate_images(images, "fashion-mnist", ["fid"])["fid"])}  # fmt: skip
    else:  # the runs benchmarks/bf16_quality.py trains, when --runs names its folder
        scored = timed_recipe_fd(args.runs, loop, args.precision, minutes, seed, args.samples)
    return {"loop": loop, "minutes": minutes, "seed": seed, "steps": scored["steps"],
            "wall_seconds": round(scored["wall_seconds"], 1), "fd": scored["fd"],
            "load": load_average()}  # fmt: skip


def summary(rows: list[dict], recipe: str, budgets: list[float]) -> tuple[str, str]:
    """(headline, table): median FD [min, max] per loop and budget, ratio of the medians."""
    lines = [
        f"| minutes | reference FD | `{recipe}` FD | ratio | reference steps | `{recipe}` steps |",
        "|---|---|---|---|---|---|",
    ]
    ratios = []
    for m in budgets:
        cells, steps, med = [], [], {}
        for loop in (REFERENCE, recipe):
            mine = [r for r in rows if r["loop"] == loop and r["minutes"] == m]
            if not mine:
                cells.append("—")
                steps.append("—")
                continue
            fds = [r["fd"] for r in mine]
            med[loop] = statistics.median(fds)
            cells.append(f"{med[loop]:.1f} [{min(fds):.1f}, {max(fds):.1f}] (n={len(fds)})")
            steps.append(str(int(statistics.median(r["steps"] for r in mine))))
        ratio = med[recipe] / med[REFERENCE] if len(med) == 2 else None
        if ratio is not None:
            ratios.append(f"{ratio:.2f} at {m:g} min")
        ratio_cell = f"{ratio:.2f}" if ratio is not None else "—"
        lines.append(
            f"| {m:g} | {cells[0]} | {cells[1]} | {ratio_cell} | {steps[0]} | {steps[1]} |"
        )
    head = (
        f"**Result.** Median FD of `{recipe}` over the reference loop's: "
        + (", ".join(ratios) if ratios else "not measured yet")
        + " (goal: at most 0.5 at every budget)."
    )
    return head, "\n".join(lines)


def loads(rows: list[dict]) -> str:
    """The 1-minute load averages recorded after the runs: about 2 is the benchmark's own two
    threads; much more means something else shared the machine."""
    ones = [float(r["load"].split()[0]) for r in rows if r.get("load")]
    if not ones:
        return "no load recorded"
    return f"1-minute load average after each run {min(ones):.2f}–{max(ones):.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default=DEFAULT_RECIPE, help="the ganforge recipe measured")
    ap.add_argument("--budgets", nargs="+", type=float, default=[1, 3, 5, 10], help="minutes")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    add_fd_options(ap, runs="runs/ttq")
    args = parse_fd_options(ap)
    load, cpu = load_average(), cpu_description()
    print(f"load average {load}; {cpu}", flush=True)
    results = Results(args.doc / "time-to-quality.json", fresh=args.fresh)
    for minutes in [] if args.page_only else args.budgets:
        for seed in range(args.seeds):
            for loop in (REFERENCE, args.recipe):
                precision = "fp32" if loop == REFERENCE else args.precision  # it has no other
                key = f"{loop}|{precision}|{minutes:g}|{seed}|{cpu}"
                if key not in results:
                    results.put(key, measure(loop, minutes, seed, args))
                    print(results[key], flush=True)
    text = page(results, args, cpu)
    args.doc.mkdir(parents=True, exist_ok=True)
    (args.doc / "time-to-quality.md").write_text(text)
    print(text)


def page(results: Results, args: argparse.Namespace, here: str) -> str:
    """Every (CPU, precision) measured, this run's first: the command's budgets where it has
    rows, a section each with its own headline. The reference loop's fp32 rows of a CPU stand
    beside every precision of the recipe on that CPU."""
    groups: dict[tuple[str, str], list[dict]] = {}
    refs: dict[str, list[dict]] = {}
    for key, row in results.items.items():
        _, precision, _, _, cpu = key.split("|")
        if row["loop"] == REFERENCE:
            refs.setdefault(cpu, []).append(row)
        elif row["loop"] == args.recipe:
            groups.setdefault((cpu, precision), []).append(row)
    for cpu in refs:
        if not any(c == cpu for c, _ in groups):
            groups[(cpu, "fp32")] = []
    order = sorted(groups, key=lambda g: (g != (here, args.precision), g))
    text = [
        "# Time to quality: ganforge against the tutorial loop at equal wall time (issue 19)",
        "",
        f"`python benchmarks/time_to_quality.py --recipe {args.recipe} --budgets "
        f"{' '.join(f'{b:g}' for b in args.budgets)} --seeds {args.seeds} --precision "
        f"{args.precision}`, torch {torch.__version__}. FD of {args.samples} samples against "
        "the Fashion-MNIST test split with our shipped extractor; median over seeds with "
        "[min, max]; a cell with fewer seeds (n) than asked is not finished: the command "
        "resumes it. The reference loop always trains in fp32; the precision named is "
        f"`{args.recipe}`'s. One section per CPU and precision measured.",
        "",
    ]
    for cpu, precision in order:
        rows = groups[(cpu, precision)] + refs.get(cpu, [])
        budgets = sorted({r["minutes"] for r in rows})
        head, table = summary(rows, args.recipe, budgets)
        text += [f"## {cpu}, `{args.recipe}` in {precision} ({loads(rows)})", "", head, "",
                 table, ""]  # fmt: skip
    return "\n".join(text)


if __name__ == "__main__":
    main()
