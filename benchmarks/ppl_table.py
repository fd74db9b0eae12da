"""Perceptual Path Length of trained runs, in every latent space they have, full paths and ends.

For each run folder given, PPL (Karras et al. 2019, arXiv:1812.04948, sec. 4.2; see
docs/metrics.md) is computed with ``ganforge eval RUN --metrics ppl`` for each space of the run
(z; and w for style-based runs) and each sampling (full, end), ``--samples`` pairs each, with the
same distance (``--distance``, default the extractor trunk of the run's dataset). Expected for a
style-based run (the paper's table 3/4): W below Z, and ends at most full paths. Prints a Markdown
table that names the distance; ``--json`` writes the rows too.

    python benchmarks/ppl_table.py RUN [RUN ...] [--samples 5000] [--distance SPEC] [--json F]
    python benchmarks/ppl_table.py --smoke      # a 2-step run on 8x8 digits, 40 pairs (seconds)
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from ganforge import api
from ganforge.training.loaded_run import load_run


def ppl_rows(run: str | Path, samples: int, distance: str | None, device: str) -> list[dict]:
    """One row per (space, sampling) of ``run``: the PPL and the facts recorded with it."""
    loaded = load_run(run, device=device)
    rows = []
    for space in loaded.game.latent_spaces():
        for sampling in ("full", "end"):
            options = {"space": space, "sampling": sampling, "samples": samples,
                       "distance": distance}  # fmt: skip
            scores, info = api.evaluate_with_info(loaded, "ppl", samples, ppl=options)
            rows.append({"run": str(run), "recipe": loaded.cfg.recipe, "space": space,
                         "sampling": sampling, "ppl": scores["ppl"], "pairs": samples,
                         "distance": info["ppl_distance"]})  # fmt: skip
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| run | recipe | space | sampling | PPL | pairs |", "|---|---|---|---|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {Path(r['run']).name} | {r['recipe']} | {r['space']} | {r['sampling']} | "
            f"{r['ppl']:.4g} | {r['pairs']} |"
        )
    lines.append(f"\ndistance: {', '.join(sorted({r['distance'] for r in rows}))}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="*")
    p.add_argument("--samples", type=int, default=5000, help="pairs per figure (paper: 100000)")
    p.add_argument("--distance", help="PPL distance (docs/metrics.md); default per run")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", help="also write the rows to this JSON file")
    p.add_argument("--smoke", action="store_true", help="a tiny run, 40 pairs: seconds")
    args = p.parse_args()
    if not args.runs and not args.smoke:
        p.error("give run folders, or --smoke")
    with tempfile.TemporaryDirectory(prefix="ppl-smoke-") as tmp:
        runs, samples = list(args.runs), args.samples
        if args.smoke:
            api.train("gan", Path(tmp) / "gan", dataset="digits", steps=2, g_width=8,
                      d_width=8, batch_size=8, report=False)  # fmt: skip
            runs, samples = [str(Path(tmp) / "gan")], 40
        rows = [row for run in runs for row in ppl_rows(run, samples, args.distance, args.device)]
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
