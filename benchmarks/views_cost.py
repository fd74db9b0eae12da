"""What the views cost on a trained run, and how fast the exported generators run.

Usage: python benchmarks/views_cost.py RUN [--repeats 3] [--batch 256] [--rounds 15]

Prints (markdown): time and size of report.html and timelapse.gif; export time and the largest
difference from PyTorch for TorchScript and ONNX; generator throughput (images/s) of PyTorch
eager, TorchScript and ONNX Runtime at one batch size, measured in the same process, interleaved
round by round so that load on a shared machine hits all three alike (compare the ratios).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=15, help="timed rounds of the three runtimes")
    args = ap.parse_args(argv)

    from PIL import Image

    from ganforge.api import load_run
    from ganforge.export import export_loaded, load_exported, spec_for
    from ganforge.views.report import write_report
    from ganforge.views.timelapse import saved_grids, write_timelapse

    run = Path(args.run)
    print(f"run: {run} ({len(saved_grids(run))} grids, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads)")  # fmt: skip
    print()
    print("| view | median seconds | size |")
    print("|---|---|---|")
    t, gif = timed(lambda: write_timelapse(run), args.repeats)
    with Image.open(gif) as im:
        frames = im.n_frames
    print(f"| timelapse.gif ({frames} frames) | {t:.2f} | {gif.stat().st_size / 1e3:.0f} kB |")
    t, page = timed(lambda: write_report(run), args.repeats)
    print(f"| report.html (incl. timelapse) | {t:.2f} | {page.stat().st_size / 1e3:.0f} kB |")

    loaded = load_run(run, device="cpu")
    G = loaded.G.eval()
    spec = spec_for(loaded.game, "vector")
    x = spec.example(args.batch, 123, loaded.game)
    runners = {}
    print()
    print("| format | export seconds | max abs diff vs PyTorch (8 samples) |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, suffix in (("torchscript", ".pt"), ("onnx", ".onnx")):
            path = Path(tmp) / f"g{suffix}"
            t0 = time.perf_counter()
            facts = export_loaded(loaded.game, G, fmt, path, "vector", step=loaded.step)
            t = time.perf_counter() - t0
            print(f"| {fmt} | {t:.1f} | {facts['max_abs_diff']:.2e} |")
            runners[fmt] = load_exported(path, fmt)
        arr = x[0].numpy()

        def eager():
            with torch.no_grad():
                return G(x[0])

        fns = {
            "PyTorch eager": eager,
            "TorchScript": lambda: runners["torchscript"](arr),
            "ONNX Runtime": lambda: runners["onnx"](arr),
        }
        for fn in fns.values():  # warm-up
            fn()
        times: dict[str, list[float]] = {k: [] for k in fns}
        for _ in range(args.rounds):
            for name, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["PyTorch eager"])
    print()
    print(f"| runtime | images/s (batch {args.batch}, median) | vs eager |")
    print("|---|---|---|")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {args.batch / med:.0f} | {base / med:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
