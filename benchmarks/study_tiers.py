"""Which recipes of a study are within noise of each other: tiers by Welch's t-test.

Reads ``STUDY/study.jsonl`` (written by ``ganforge study``) and prints, per recipe, the FD of
every seed, mean ± standard deviation, steps and wall seconds per cell; then tiers: recipes
sorted by mean FD, a tier starts at its best recipe and takes each next recipe whose seeds are
not significantly worse than that best one's (Welch's unequal-variance t-test, two-sided,
p >= ``--alpha``). With 3 seeds a test has little power: two recipes in one tier are "not
shown different", not "equal".

    python benchmarks/study_tiers.py studies/fashion-mnist-5e12 [--metric fid] [--alpha 0.05]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from scipy.stats import ttest_ind

from ganforge.study.results import read_jsonl


def load(study: Path, metric: str) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for r in read_jsonl(study):
        if r.get("status") == "finished" and metric in (r.get("metrics") or {}):
            rows.setdefault(r["recipe"], []).append(r)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("study", type=Path)
    p.add_argument("--metric", default="fid")
    p.add_argument("--alpha", type=float, default=0.05)
    args = p.parse_args()
    rows = load(args.study, args.metric)
    scores = {k: [r["metrics"][args.metric] for r in v] for k, v in rows.items()}
    order = sorted(scores, key=lambda k: statistics.mean(scores[k]))
    print(f"| recipe | {args.metric} per seed | mean ± sd | G steps | wall s/cell |")
    print("|---|---|---|---|---|")
    for k in order:
        s = scores[k]
        sd = statistics.stdev(s) if len(s) > 1 else float("nan")
        steps = rows[k][0]["steps"]
        wall = statistics.mean(r["wall_seconds"] for r in rows[k])
        per = ", ".join(f"{v:.2f}" for v in s)
        print(f"| {k} | {per} | {statistics.mean(s):.2f} ± {sd:.2f} | {steps} | {wall:.0f} |")
    tiers: list[list[str]] = []
    for k in order:
        if (
            tiers
            and ttest_ind(scores[tiers[-1][0]], scores[k], equal_var=False).pvalue >= args.alpha
        ):
            tiers[-1].append(k)
        else:
            tiers.append([k])
    print(f"\ntiers (Welch t-test against each tier's best, p >= {args.alpha} stays in the tier):")
    for i, t in enumerate(tiers, 1):
        print(f"  {i}. {', '.join(t)}")


if __name__ == "__main__":
    main()
