"""DiffAugment's effect at an equal budget: FD with and without ``augment`` on limited data.

Zhao et al. 2020 ("Differentiable Augmentation for Data-Efficient GAN Training") augment every
image D sees, real and fake, with the same differentiable transforms, so that D cannot memorise
a small training set. This trains ``--recipe`` (default dcgan) on ``--dataset`` (default
mnist5k: 5,000 MNIST digits) for the same number of generator steps with ``augment`` off and
with ``--policy`` (default color,translation,cutout), ``--seeds`` seeds each, one thread per run
(so FD does not depend on the machine's load), and scores each run's final generator with FD on
our shipped extractor (``ganforge eval --metrics fid``, 10,000 samples).

Every cell is an ordinary run folder under ``--out``; a re-run skips scored cells and resumes
interrupted ones, so the benchmark survives stops. Wall seconds are printed too; they are only
meaningful on a quiet machine (the load average is printed first).

    python benchmarks/augment.py [--steps 1500] [--seeds 3] [--out runs/bench-augment]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path


def ganforge(*args: str) -> str:
    cmd = [sys.executable, "-m", "ganforge", *args]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr.strip()[-2000:]}")
    return done.stdout


def status(run: Path) -> str:
    try:
        return json.loads((run / "run.json").read_text()).get("status", "")
    except (OSError, ValueError):
        return ""


def cell(args: argparse.Namespace, policy: str, seed: int) -> dict:
    name = f"{policy.replace(',', '+') or 'none'}-s{seed}"
    run, result = args.out / name, args.out / f"{name}.json"
    if result.exists():
        return json.loads(result.read_text())
    if status(run) != "finished":
        if (run / "checkpoints").is_dir() and any((run / "checkpoints").iterdir()):
            ganforge("train", "--resume", str(run), "--steps", str(args.steps))
        else:
            aug = ["--set", f"augment={policy}"] if policy else []
            ganforge("train", args.recipe, "--dataset", args.dataset, "--steps", str(args.steps),
                     "--seed", str(seed), "--set", "threads=1", *aug,
                     "--set", "report=false", "--out", str(run), "--force")  # fmt: skip
    scored = json.loads(ganforge("eval", str(run), "--metrics", "fid", "--json").splitlines()[-1])
    wall = json.loads((run / "run.json").read_text()).get("wall_seconds")
    out = {"policy": policy or "none", "seed": seed, "fid": scored["fid"], "wall_seconds": wall}
    result.write_text(json.dumps(out) + "\n")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="dcgan")
    p.add_argument("--dataset", default="mnist5k")
    p.add_argument("--policy", default="color,translation,cutout")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--out", type=Path, default=Path("runs/bench-augment"))
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    rows = {}
    for policy in ("", args.policy):
        rows[policy or "none"] = [cell(args, policy, s) for s in range(args.seeds)]
        for r in rows[policy or "none"]:
            print(f"  augment={r['policy']:<26} seed {r['seed']}  FD {r['fid']:.3f}  "
                  f"{r['wall_seconds']:.0f} s", flush=True)  # fmt: skip
    print(
        f"\n{args.recipe} on {args.dataset}, {args.steps} G steps, FD (our extractor, 10k samples)"
    )
    print("| augment | FD per seed | mean | SE | wall s (mean) |\n|---|---|---|---|---|")
    for policy, rs in rows.items():
        fds = [r["fid"] for r in rs]
        se = statistics.stdev(fds) / len(fds) ** 0.5 if len(fds) > 1 else float("nan")
        walls = statistics.mean(r["wall_seconds"] for r in rs)
        per = ", ".join(f"{f:.2f}" for f in fds)
        print(f"| {policy} | {per} | {statistics.mean(fds):.2f} | {se:.2f} | {walls:.0f} |")


if __name__ == "__main__":
    main()
