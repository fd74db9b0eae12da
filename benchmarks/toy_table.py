"""Every toy recipe × ring8/grid25: modes, high-quality %, reverse KL (mean ± SE over seeds).

Usage: nice -n 10 python benchmarks/toy_table.py --steps 2000 --seeds 1 --workers 3 \\
           --out docs/bench/toy-runs.jsonl [--datasets ring8 grid25] [--recipes gan pacgan]
Each run is one process with one thread; finished runs are appended to the JSONL file, so a
stopped table can be continued (runs already there are skipped). ``--markdown`` prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path


def _one(dataset: str, recipe: str, steps: int, seed: int) -> dict:
    import torch

    torch.set_num_threads(1)
    from ganforge.toy import toy_config, train_toy

    run = train_toy(toy_config(recipe, dataset, steps=steps, seed=seed))
    return {
        "dataset": dataset,
        "recipe": recipe,
        "steps": steps,
        "seed": seed,
        **run.metrics,
        "seconds": round(run.seconds, 1),
        "cpu_seconds": round(run.cpu_seconds, 1),
    }


def markdown(rows: list[dict]) -> str:
    from ganforge.metrics.toy import mean_se

    lines = []
    for ds in ("grid25", "ring8"):
        lines += [
            f"\n**{ds}**\n",
            "| recipe | seeds | steps | modes | high quality % | reverse KL | wall s/run | CPU s/run |",
            "|---|---|---|---|---|---|---|---|",
        ]
        groups: dict[tuple, list[dict]] = {}
        for r in rows:
            if r["dataset"] == ds:
                groups.setdefault((r["recipe"], r["steps"]), []).append(r)
        for (rec, steps), rs in sorted(
            groups.items(), key=lambda kv: -sum(r["high_quality"] for r in kv[1]) / len(kv[1])
        ):
            m = {
                k: mean_se([r[k] for r in rs])
                for k in ("modes", "high_quality", "reverse_kl", "seconds")
            }
            cpus = [r["cpu_seconds"] for r in rs if "cpu_seconds" in r]
            cpu = f"{sum(cpus) / len(cpus):.0f}" if cpus else "n/a"
            lines.append(
                f"| {rec} | {len(rs)} | {steps} | {m['modes']['mean']:.2f} ± {m['modes']['se']:.2f} | "
                f"{100 * m['high_quality']['mean']:.1f} ± {100 * m['high_quality']['se']:.1f} | "
                f"{m['reverse_kl']['mean']:.3f} ± {m['reverse_kl']['se']:.3f} | "
                f"{m['seconds']['mean']:.0f} | {cpu} |"
            )
    return "\n".join(lines)


def main() -> None:
    from ganforge.toy import toy_recipes

    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    ap.add_argument("--datasets", nargs="+", default=["grid25", "ring8"])
    ap.add_argument("--recipes", nargs="+", default=None)
    ap.add_argument("--out", default="docs/bench/toy-runs.jsonl")
    ap.add_argument("--markdown", action="store_true", help="only print the table of --out")
    ap.add_argument(
        "--job",
        action="append",
        default=[],
        metavar="DATASET:RECIPE:SEED",
        help="run exactly these (in this order) instead of the full grid",
    )
    args = ap.parse_args()
    out = Path(args.out)
    rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    if args.markdown:
        print(markdown(rows))
        return
    done = {(r["dataset"], r["recipe"], r["steps"], r["seed"]) for r in rows}
    explicit = [(d, r, args.steps, int(s)) for d, r, s in (j.split(":") for j in args.job)]
    jobs = [j for j in explicit if j not in done] or [
        (ds, rec, args.steps, seed)
        for seed in range(args.first_seed, args.first_seed + args.seeds)
        for ds in args.datasets
        for rec in (args.recipes or toy_recipes())
        if (ds, rec, args.steps, seed) not in done
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(_one, *job) for job in jobs]
        for fut in as_completed(futures):
            row = fut.result()
            print(json.dumps(row), flush=True)
            with out.open("a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
