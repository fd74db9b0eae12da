"""Calibration table for the metrics on real images with known defects (docs/metrics.md).

    nice -n 10 python benchmarks/calibration.py [--n 5000] [--dataset fashion-mnist]

Rows: real TRAIN images against the TEST reference (the floor), the same images with Gaussian
noise and Gaussian blur of rising strength, one image repeated N times, a single class, and the
class-balanced test split itself for cas. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from ganforge.data.catalog import load_dataset
from ganforge.metrics.evaluate import evaluate_images

COLS = ("fid", "kid", "is", "precision", "recall", "density", "coverage", "memorised")


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur (radius 3, replicate padding)."""
    r = 3
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = (k / k.sum()).view(1, 1, 1, -1)
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.transpose(2, 3))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    train = load_dataset(args.dataset, "train")
    test = load_dataset(args.dataset, "test")
    gen = torch.Generator().manual_seed(0)
    idx = torch.randperm(len(train), generator=gen)[: args.n]
    real = train.images[idx].float() / 127.5 - 1
    rows: list[tuple[str, torch.Tensor]] = [("train images (floor)", real)]
    for s in (0.1, 0.2, 0.4):
        noisy = (real + s * torch.randn(real.shape, generator=gen)).clamp(-1, 1)
        rows.append((f"Gaussian noise sigma={s}", noisy))
    for s in (0.6, 1.0, 1.6):
        rows.append((f"Gaussian blur sigma={s} px", blur(real, s)))
    rows.append(("one image repeated", real[:1].expand(args.n, -1, -1, -1)))
    one_class = train.images[train.labels == 1][: args.n].float() / 127.5 - 1
    rows.append((f"one class ({train.class_names[1]})", one_class))
    metrics = "fid,kid,is,pr,dc,nn"
    print(f"| {args.dataset}, N={args.n} vs test split | " + " | ".join(COLS) + " |")
    print("|---" * (len(COLS) + 1) + "|")
    t0 = time.time()
    for name, x in rows:
        res = evaluate_images(x, args.dataset, metrics)
        print(f"| {name} | " + " | ".join(f"{res[c]:.4g}" for c in COLS) + " |", flush=True)
    bal = test.images[: args.n]
    res = evaluate_images(bal, args.dataset, "cas", labels=test.labels[: args.n])
    acc = res["info"]["classifier_test_accuracy"]
    print(
        f"\ncas of the first {args.n} test images with their labels: {res['cas']:.4f} "
        f"(classifier test accuracy {acc})"
    )
    print(f"({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
