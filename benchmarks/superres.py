"""SRResNet vs SRGAN on fmnist-sr4 (7x7 -> 28x28), beside bicubic (Ledig et al. 2017,
arXiv:1609.04802).

Trains ``srresnet`` for ``--minutes``, then ``srgan`` fine-tuned from it (``init_from``, as the
paper) for ``--minutes``, and optionally the Wasserstein variant (``--wgan``) from the same
SRResNet; scores each with ``ganforge translate RUN --eval``'s scorer on the 10,000 test
images (PSNR/SSIM on [0, 1], FD with the shipped extractor) next to bicubic interpolation, and
draws rows of: the 7x7 input (nearest), bicubic, SRResNet, SRGAN[, SRGAN-WGAN], the target.

    python benchmarks/superres.py --minutes 30 --out docs/bench
    python benchmarks/superres.py --smoke      # seconds: tiny nets, a few steps, 64 images

Writes OUT/superres.json, OUT/superres.md (the table) and IMG/superres-fmnist-sr4.png. A
method already in superres.json is not scored again (``--fresh`` starts over); interrupted runs
resume for the minutes they have left (benchmarks/bench_runs.py).
The expected trade-off: SRResNet the best PSNR/SSIM; SRGAN a lower PSNR but a lower FD than
SRResNet; both far above bicubic.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ganforge import api
from ganforge.data import load_dataset
from ganforge.data.superres import bicubic_upscale, downscale
from ganforge.metrics.superres_eval import evaluate_superres, upscale_all
from ganforge.views.grids import save_grid

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_runs import Results, train_for  # noqa: E402
from machine import cpu_description, load_average  # noqa: E402

TINY = {"g_width": 8, "d_width": 4, "sr_blocks": 1, "batch_size": 4}


def _train(recipe: str, out: Path, budget: dict[str, Any], **extra: Any) -> Path:
    train_for(recipe, out, **budget, **extra)
    return out


def _row(name: str, scores: dict[str, Any]) -> str:
    fd = scores.get("fd")
    return f"| {name} | {scores['psnr']:.2f} | {scores['ssim']:.4f} | " + (
        f"{fd:.2f} |" if fd is not None else "— |"
    )


def table(results: dict[str, Any]) -> str:
    lines = ["| method | PSNR (dB) | SSIM | FD |", "|---|---|---|---|"]
    first = next(iter(results.values()))
    lines.append(_row("bicubic", first["bicubic_baseline"]))
    for name, res in results.items():
        lines.append(_row(f"{name} ({res['step']} steps)", res["model"]))
    return "\n".join(lines)


def verdict(results: dict[str, Any], bicubic: dict[str, Any]) -> str:
    """Whether the paper's trade-off holds: SRResNet the best PSNR, SRGAN a lower PSNR but a
    lower FD than SRResNet, both above bicubic in PSNR and below it in FD."""
    if not {"SRResNet", "SRGAN"} <= results.keys():
        return "The trade-off needs both SRResNet and SRGAN."
    a, b = results["SRResNet"]["model"], results["SRGAN"]["model"]
    if a.get("fd") is None or b.get("fd") is None:
        return "No FD (no extractor), so the trade-off is not judged."
    holds = a["psnr"] > b["psnr"] > bicubic["psnr"] and b["fd"] < a["fd"] < bicubic.get(
        "fd", float("inf")
    )
    return (
        "**The expected trade-off holds**: SRResNet has the best PSNR, SRGAN gives up "
        f"{a['psnr'] - b['psnr']:.2f} dB for an FD {a['fd'] / b['fd']:.1f}x lower, both far "
        "above bicubic."
        if holds
        else "**The expected trade-off does not hold** here (see the table)."
    )


@torch.no_grad()
def picture(runs: dict[str, Any], path: Path, n: int = 8) -> Path:
    """Rows of ``n`` test images: input (nearest), bicubic, each run's G, target."""
    y = load_dataset("fmnist-sr4", "test").images[:n].float().div(127.5).sub(1)
    x = downscale(y, 4)
    rows = [F.interpolate(x, scale_factor=4, mode="nearest"), bicubic_upscale(x, 4)]
    rows += [upscale_all(run.G, x, run.device) for run in runs.values()]
    rows.append(y)
    return save_grid(torch.cat(rows), path, nrow=n, scale=3)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=30.0, help="wall-clock minutes per run")
    p.add_argument("--runs", default="runs", help="folder of the training runs")
    p.add_argument("--out", default="docs/bench")
    p.add_argument("--img", default="docs/img")
    p.add_argument("--n", type=int, default=0, help="test images to score (0 = all 10,000)")
    p.add_argument("--wgan", action="store_true", help="also the Wasserstein variant")
    p.add_argument("--smoke", action="store_true", help="seconds: tiny nets, 3 steps, 64 images")
    p.add_argument("--fresh", action="store_true", help="score every method again")
    args = p.parse_args()
    extra: dict[str, Any] = {"report": False}
    budget: dict[str, Any] = {"minutes": args.minutes}
    n = args.n
    load = load_average()
    if args.smoke:
        tmp = Path(tempfile.mkdtemp(prefix="superres-smoke-"))
        args.runs, args.out, args.img = tmp / "runs", tmp, tmp
        extra.update(TINY)
        budget, n = {"steps": 3}, 64
    runs_dir = Path(args.runs)
    base = runs_dir / "bench-srresnet"
    plan = {
        "SRResNet": ("srresnet", base, {}),
        "SRGAN": ("srgan", runs_dir / "bench-srgan", {"init_from": str(base)}),
    }
    if args.wgan:
        plan["SRGAN-WGAN-GP"] = (
            "srgan",
            runs_dir / "bench-srgan-wgan",
            {"init_from": str(base), "loss": "wasserstein"},
        )
    out = Path(args.out)
    results = Results(out / "superres.json", fresh=args.fresh or args.smoke)
    for name, (recipe, path, more) in plan.items():
        if name in results:
            continue
        _train(recipe, path, budget, **extra, **more)
        run = api.load_run(path, device="cpu")
        scores = evaluate_superres(run, n)
        results.put(name, {"run": str(path), "step": run.step, "cpu": cpu_description(),
                           "load_at_start": load, **scores})  # fmt: skip
    md = table(results.items)
    first = next(iter(results.items.values()))
    psnr = {k: v["model"]["psnr"] for k, v in results.items.items()}
    fd = {k: v["model"].get("fd") for k, v in results.items.items()}
    head = "; ".join(
        f"{k} {psnr[k]:.2f} dB" + (f", FD {fd[k]:.2f}" if fd[k] is not None else "") for k in psnr
    )
    bic = first["bicubic_baseline"]
    shown = {name: api.load_run(path, device="cpu") for name, (_, path, _) in plan.items()
             if (path / "run.json").is_file()}  # fmt: skip
    loads = "; ".join(f"{k} {v.get('load_at_start', '?')}" for k, v in results.items.items())
    cpus = sorted({v.get("cpu", cpu_description()) for v in results.items.values()})
    (out / "superres.md").write_text(
        "# SRResNet vs SRGAN on fmnist-sr4 (7x7 -> 28x28)\n\n"
        f"`python benchmarks/superres.py --minutes {args.minutes:g}` (each run; SRGAN "
        f"fine-tuned from the SRResNet run); {first['test_images']} test images; "
        f"{'; '.join(cpus)}; load average when each run started: {loads}.\n\n"
        f"**Result.** PSNR {head}; bicubic {bic['psnr']:.2f} dB"
        + (f", FD {bic['fd']:.2f}" if bic.get("fd") is not None else "")
        + f". {verdict(results.items, bic)}\n\n"
        f"{md}\n\n"
        "![input, bicubic, models, target](../img/superres-fmnist-sr4.png)\n\n"
        "Rows, top to bottom: the 7x7 input (nearest), bicubic, "
        + ", ".join(shown)
        + ", the 28x28 target.\n"
    )
    pic = picture(shown, Path(args.img) / "superres-fmnist-sr4.png") if shown else None
    print(md)
    print(f"wrote {out / 'superres.json'}, {out / 'superres.md'} and {pic}")


if __name__ == "__main__":
    main()
