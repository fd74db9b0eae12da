"""Exact rewrites of DCGAN's stride-2 convolutions, timed against the layers themselves.

DCGAN's cost is its 4x4 stride-2 convolutions (D) and transposed convolutions (G). Two exact
rewrites turn them into stride-1 convolutions, which might suit oneDNN's kernels better:

* ``Conv2d(k=4, s=2, p=1)`` = space-to-depth of the padded input (C -> 4C channels, half the
  side), then a 2x2 stride-1 convolution with the same weights rearranged.
* ``ConvTranspose2d(k=4, s=2, p=1)`` = a 2x2 convolution (padding 1) producing 4 C_out
  channels, pixel shuffle, then a one-pixel crop (sub-pixel convolution, Shi et al. 2016).

The script checks that each rewrite equals the layer, then times forward + backward of both
at DCGAN's shapes (batch 64, channels_last) and prints the speed ratio. On this project's CPU
both rewrites were slower (docs/bench/speed.md, B6), so ganforge keeps the plain layers.

    python benchmarks/conv_rewrites.py --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn


def conv_s2_as_s2d(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """``conv2d(x, w, b, stride=2, padding=1)`` for a 4x4 ``w``, via space-to-depth."""
    n, c, h, wd = x.shape
    hh, ww = (h + 2) // 2, (wd + 2) // 2
    xs = F.pad(x, (1, 1, 1, 1)).reshape(n, c, hh, 2, ww, 2).permute(0, 1, 3, 5, 2, 4)
    xs = xs.reshape(n, c * 4, hh, ww).contiguous(memory_format=torch.channels_last)
    o = w.shape[0]
    ws = w.reshape(o, c, 2, 2, 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(o, c * 4, 2, 2)
    return F.conv2d(xs, ws, b)


def conv_t_as_subpixel(y: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``conv_transpose2d(y, w, b, stride=2, padding=1)`` for a 4x4 ``w``, via pixel shuffle."""
    ci, co = w.shape[:2]
    wk = w.reshape(ci, co, 2, 2, 2, 2).flip(2, 4).permute(1, 3, 5, 0, 2, 4)
    out = F.conv2d(y, wk.reshape(co * 4, ci, 2, 2), None, padding=1)
    return F.pixel_shuffle(out, 2)[:, :, 1:-1, 1:-1] + b.view(1, -1, 1, 1)


def fwd_bwd_ms(fn, x: torch.Tensor, reps: int, rounds: int = 5) -> float:
    """Median over rounds of the mean forward + backward time, in ms."""
    for _ in range(3):
        fn(x).sum().backward()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(reps):
            fn(x).sum().backward()
        times.append((time.perf_counter() - t) / reps * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=0, help="torch threads; 0 = default")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cl, n = torch.channels_last, args.batch_size
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {n}")
    print("| layer | plain ms | rewrite ms | plain / rewrite | max abs diff |")
    print("|---|---|---|---|---|")
    for cin, cout, side in ((1, 64, 28), (64, 128, 14)):
        conv = nn.Conv2d(cin, cout, 4, 2, 1).to(memory_format=cl)
        x = torch.randn(n, cin, side, side).contiguous(memory_format=cl)
        x.requires_grad_(cin > 1)  # D's first layer needs no input gradient
        name = f"D conv {cin}->{cout} @{side} (space-to-depth)"
        print_row(name, conv, conv_s2_as_s2d, x, args.reps)
    for cin, cout, side in ((128, 64, 7), (64, 1, 14)):
        conv_t = nn.ConvTranspose2d(cin, cout, 4, 2, 1).to(memory_format=cl)
        y = torch.randn(n, cin, side, side).contiguous(memory_format=cl).requires_grad_(True)
        name = f"G conv-T {cin}->{cout} @{side} (sub-pixel)"
        print_row(name, conv_t, conv_t_as_subpixel, y, args.reps)


def print_row(name: str, layer: nn.Module, rewrite, x: torch.Tensor, reps: int) -> None:
    """Check ``rewrite`` against ``layer`` on ``x``, time both and print one table row."""
    diff = (layer(x) - rewrite(x, layer.weight, layer.bias)).abs().max().item()
    a = fwd_bwd_ms(layer, x, reps)
    b = fwd_bwd_ms(lambda t: rewrite(t, layer.weight, layer.bias), x, reps)
    print(f"| {name} | {a:.1f} | {b:.1f} | {a / b:.2f} | {diff:.1e} |")


if __name__ == "__main__":
    main()
