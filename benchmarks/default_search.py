"""Which changes to the default recipe pay at equal wall time? (issue 19's search, one seed)

Trains ``dcgan`` with each candidate's overrides for ``--minutes`` on Fashion-MNIST and scores
FD (our shipped extractor, ``--n`` samples, the EMA generator where kept) against the test
split; candidates are cumulative ideas a practitioner tries first (EMA of G, TTUR, hinge with
spectral norm, batch size, width), then the first screen's winners combined. Each result is kept in ``--out`` once measured, so the search
survives stops; the table is sorted by FD. A screen, not a verdict: the winners then go through
``benchmarks/time_to_quality.py`` with seeds.

    python benchmarks/default_search.py --minutes 3 --only base,ema
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch  # noqa: E402
from bench_runs import Results, train_for  # noqa: E402
from machine import by_cpu, cpu_description, load_average  # noqa: E402

from ganforge import api  # noqa: E402

CANDIDATES: dict[str, dict] = {
    "base": {},
    "ema": {"ema": 0.999},
    "ema-ttur": {"ema": 0.999, "lr_g": 1e-4, "lr_d": 4e-4, "beta1": 0.0, "beta2": 0.9},
    "ema-hinge-sn": {"ema": 0.999, "loss": "hinge", "spectral_norm": True, "d_norm": "none"},
    "ema-batch128": {"ema": 0.999, "batch_size": 128},
    "ema-batch32": {"ema": 0.999, "batch_size": 32},
    "ema-narrow": {"ema": 0.999, "g_width": 32, "d_width": 32},
    "ema-lr4e-4": {"ema": 0.999, "lr_g": 4e-4, "lr_d": 4e-4},
    # The first screen's three winners, combined.
    "ema-narrow-lr4e-4": {"ema": 0.999, "g_width": 32, "d_width": 32, "lr_g": 4e-4, "lr_d": 4e-4},
    "ema-narrow-batch32": {"ema": 0.999, "g_width": 32, "d_width": 32, "batch_size": 32},
    "ema-narrow-lr4e-4-batch32": {
        "ema": 0.999,
        "g_width": 32,
        "d_width": 32,
        "lr_g": 4e-4,
        "lr_d": 4e-4,
        "batch_size": 32,
    },  # fmt: skip
}
# The default (dcgan-cpu) with a decay no longer capping the EMA warm-up: the averaging horizon
# stays about 11 % of the steps done ((1 + t) / (10 + t)), instead of stopping at 1,000 steps
# once a run passes about 9,000 steps (5 minutes on 2 cores).
CANDIDATES["cpu-ema-ramp"] = {**CANDIDATES["ema-narrow-lr4e-4-batch32"], "ema": 0.9999}


def table(rows: list[dict]) -> list[str]:
    """Markdown for one CPU's rows, sorted by FD, with the best three against that CPU's base."""
    rows = sorted(rows, key=lambda r: r["fd"])
    base = next((r["fd"] for r in rows if r["candidate"] == "base"), None)
    best = ", ".join(
        f"`{r['candidate']}` {r['fd']:.1f}" + (f" ({r['fd'] / base:.2f}× base)" if base else "")
        for r in rows[:3]
    )
    lines = [f"**Result.** {best} are the best three.", "",
             "| candidate | overrides | minutes | steps | FD |", "|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        over = CANDIDATES.get(r["candidate"], {})
        lines.append(f"| `{r['candidate']}` | {over} | {r.get('minutes', '')} | {r['steps']} | "
                     f"{r['fd']:.2f} |")  # fmt: skip
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--only", default=",".join(CANDIDATES), help="comma-separated candidates")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", type=Path, default=Path("runs/default-search"))
    p.add_argument("--doc", type=Path, default=Path("docs/bench"), help="default-search.md/.json")
    args = p.parse_args()
    load, cpu = load_average(), cpu_description()
    print(f"load average {load}; {cpu}", flush=True)
    results = Results(args.doc / "default-search.json")
    for name in args.only.split(","):
        # Rows are kept per CPU: FD at equal wall time is comparable only on one machine.
        key = f"{name}|{args.minutes:g}|{args.seed}|{cpu}"
        if key in results:
            continue
        run = args.runs / f"{name}-{args.minutes:g}m-s{args.seed}"
        facts = train_for("dcgan", run, args.minutes, seed=args.seed, report=False,
                          **CANDIDATES[name])  # fmt: skip
        fd = api.evaluate(run, "fid", n=args.n)["fid"]
        results.put(key, {"candidate": name, "minutes": args.minutes, "steps": facts.get("steps"),
                          "fd": float(fd), "cpu": cpu, "load_at_start": load,
                          "load_after": load_average()})  # fmt: skip
        print(results[key], flush=True)
    lines = [
        "# Screening changes to the default recipe at equal wall time (issue 19)",
        "",
        "`python benchmarks/default_search.py --minutes M`, torch "
        f"{torch.__version__}: `dcgan` with each candidate's overrides, one seed, FD of the EMA G "
        f"where kept ({args.n} samples, our extractor, test split). One table per CPU: FD at "
        "equal wall time compares only on one machine. A screen, not a verdict.",
    ]
    for name, rows in by_cpu(list(results.items.values()), cpu).items():
        loads = sorted({r.get("load_at_start", "?") for r in rows})
        lines += ["", f"## {name}", "", f"Load average at start: {'; '.join(loads)}."]
        for minutes in sorted({r.get("minutes", 0.0) for r in rows}):
            lines += ["", f"### {minutes:g} minutes", ""]
            lines += table([r for r in rows if r.get("minutes", 0.0) == minutes])
    (args.doc / "default-search.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
