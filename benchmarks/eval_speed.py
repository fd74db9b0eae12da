"""How long `ganforge eval` takes on 10,000 images (target: under 30 s on 2 CPU cores).

    nice -n 10 python benchmarks/eval_speed.py [--n 10000] [--metrics fid,kid,is,pr,dc]

Uses 10,000 Fashion-MNIST training images as the "samples" (so no generator time is included;
sampling cost belongs to the model). The reference features of the test split are computed once
and cached like in normal use; the first line times that cold start, the second a warm call.
"""

from __future__ import annotations

import argparse
import time

import torch

from ganforge.data.catalog import load_dataset
from ganforge.metrics import evaluate as ev


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--metrics", default="fid,kid,is,pr,dc")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    images = load_dataset("fashion-mnist", "train").images[: args.n]
    t0 = time.perf_counter()
    ev._MEMORY.clear()
    extractor = ev.load_feature_extractor("fashion-mnist")
    ev.reference("fashion-mnist", "test", extractor)
    t_ref = time.perf_counter() - t0
    timings = {}
    t1 = time.perf_counter()
    out = extractor.outputs(images)
    timings["features"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    result = ev.evaluate_images(images, "fashion-mnist", args.metrics)
    total = time.perf_counter() - t1
    print(f"reference features (test split, cold or from disk cache): {t_ref:.1f} s")
    print(f"features of {args.n} images alone: {timings['features']:.1f} s ({out.features.shape})")
    print(f"evaluate {args.n} images [{args.metrics}] with {args.threads} threads: {total:.1f} s")
    print({k: round(v, 4) for k, v in result.items() if k != "info"})


if __name__ == "__main__":
    main()
