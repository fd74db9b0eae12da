"""Context encoder on fmnist-inpaint: PSNR in the hole vs the mean-image fill, FD vs an
L1-only (pix2pix-style, no adversarial term) baseline trained with the same budget.

    python benchmarks/inpaint.py --minutes 30 \
        --runs runs --doc docs/bench --img docs/img          # the real one (2 x 30 minutes)
    python benchmarks/inpaint.py --smoke                     # seconds; writes to a temp folder

It trains ``inpaint`` (0.999 L2 with the overlap band x10 + 0.001 adversarial) and
``inpaint-l1`` (L1 reconstruction only) one after the other with equal budgets, scores both on
the Fashion-MNIST test split with the centre mask (``ganforge translate RUN --eval --baseline``:
:func:`ganforge.metrics.inpaint_eval.evaluate_inpaint`), and writes inpaint.json, inpaint.md
(the page of docs/bench) and a picture (masked input / context encoder / L1 baseline / original).
Interrupted runs resume for the minutes they have left (benchmarks/bench_runs.py); finished runs
are kept and only scored again.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

from ganforge import api
from ganforge.data import load_dataset
from ganforge.metrics.inpaint_eval import evaluate_inpaint, fill_all
from ganforge.views.grids import save_grid

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_runs import train_for  # noqa: E402
from machine import cpu_description  # noqa: E402


def _train(recipe: str, out: Path, args: argparse.Namespace) -> dict:
    budget = {"steps": 20} if args.smoke else {"minutes": args.minutes}
    facts = train_for(
        recipe,
        out,
        batch_size=args.batch_size,
        g_width=args.width,
        d_width=args.width,
        seed=args.seed,
        report=not args.smoke,
        **budget,
    )
    return {
        "run": str(out),
        "steps": facts.get("steps"),
        "seconds": round(float(facts.get("wall_seconds", 0.0)), 1),
    }


def _picture(model, baseline, path: Path, k: int = 8) -> None:
    x01 = load_dataset("fmnist-inpaint", "test").images[:k].float() / 255
    mask = model.game.default_masks(k)
    masked = x01.masked_fill(mask > 0.5, 0.5)
    rows = [masked, fill_all(model, x01, mask), fill_all(baseline, x01, mask), x01]
    save_grid(torch.cat(rows).mul(2).sub(1), path, nrow=k, scale=2)


def _page(result: dict, args: argparse.Namespace) -> str:
    m, b, r = result["model"], result["mean_fill_baseline"], result["baseline_run"]
    fd = result["fd"]
    budget = "a 20-step smoke run" if args.smoke else f"{args.minutes:g} CPU minutes"
    lines = [
        "# Inpainting: context encoder vs mean fill and an L1-only baseline",
        "",
        f"**Result.** In {budget} the context encoder fills the centre "
        f"quarter of Fashion-MNIST test images at {m['psnr_hole']:.2f} dB PSNR in the hole "
        f"against {b['psnr_hole']:.2f} dB for the mean-image fill, with FD "
        f"{fd['model']:.2f} against {fd['baseline_run']:.2f} for the L1-only baseline "
        f"({r['psnr_hole']:.2f} dB).",
        "",
        f"Machine: {result.get('machine', cpu_description())}, torch {torch.__version__}. Command:",
        "",
        f"    python benchmarks/inpaint.py --minutes {args.minutes:g} --batch-size "
        f"{args.batch_size} --width {args.width} --seed {args.seed}",
        "",
        "| | PSNR hole (dB) | PSNR image (dB) | SSIM | L1 hole | FD |",
        "|---|---|---|---|---|---|",
    ]
    for name, s, f in (
        ("`inpaint` (0.999 L2 + 0.001 adv)", m, fd["model"]),
        ("`inpaint-l1` (L1 only)", r, fd["baseline_run"]),
        ("mean-image fill", b, fd["mean_fill_baseline"]),
    ):
        lines.append(
            f"| {name} | {s['psnr_hole']:.2f} | {s['psnr']:.2f} | {s['ssim']:.3f} | "
            f"{s['l1_hole']:.4f} | {f:.2f} |"
        )
    lines += [
        "",
        f"Training: {result['train']['inpaint']['steps']} steps (`inpaint`) and "
        f"{result['train']['inpaint-l1']['steps']} steps (`inpaint-l1`); "
        f"{result['test_images']} test images; FD with the shipped `{fd['extractor']}` "
        "extractor against the real test images. Expected: the adversarial term trades a "
        "little PSNR for sharper fills (lower FD); both far above the mean fill.",
        "",
        "![masked / inpaint / inpaint-l1 / original](../img/inpaint.png)",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=30.0, help="budget of each run")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--width", type=int, default=32, help="g_width and d_width")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=0, help="test images scored (0 = all 10,000)")
    p.add_argument("--runs", default="runs", help="folder for the two runs")
    p.add_argument("--doc", help="write inpaint.md and inpaint.json here (e.g. docs/bench)")
    p.add_argument("--img", default="docs/img", help="folder of the picture (with --doc)")
    p.add_argument("--smoke", action="store_true", help="20 steps, tiny nets, 256 test images")
    args = p.parse_args(argv)
    if args.smoke:
        args.width, args.batch_size, args.n = 4, 8, 256
        args.runs = tempfile.mkdtemp(prefix="inpaint-bench-")
        args.doc, args.img = f"{args.runs}/doc", f"{args.runs}/img"
    runs = Path(args.runs)
    train = {r: _train(r, runs / f"bench-{r}", args) for r in ("inpaint", "inpaint-l1")}
    model = api.load_run(runs / "bench-inpaint", device="cpu")
    baseline = api.load_run(runs / "bench-inpaint-l1", device="cpu")
    result = {
        "train": train,
        "machine": cpu_description(),
        **evaluate_inpaint(model, args.n, baseline),
    }
    print(json.dumps(result, indent=2))
    if args.doc:
        doc = Path(args.doc)
        doc.mkdir(parents=True, exist_ok=True)
        (doc / "inpaint.json").write_text(json.dumps(result, indent=2) + "\n")
        _picture(model, baseline, Path(args.img) / "inpaint.png")
        (doc / "inpaint.md").write_text(_page(result, args))
        print(f"wrote {doc / 'inpaint.md'}; run python scripts/bench_index.py")
    return result


if __name__ == "__main__":
    main()
