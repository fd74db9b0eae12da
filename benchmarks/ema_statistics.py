"""EMA generators with BatchNorm: standing statistics vs the live G's copied statistics.

The same trained EMA weights are sampled twice: with BatchNorm statistics re-estimated for
them (standing statistics, what ganforge does) and with the live generator's running
statistics copied in (what ganforge did before). Prints one table.

    python benchmarks/ema_statistics.py toy [--seeds 3] [--steps 3000]
    python benchmarks/ema_statistics.py fmnist [--steps 2000] [--samples 10000] [--out DIR]

toy: the `gan` recipe on ring8 with ema 0.999 (BatchNorm in G), high-quality fraction and
modes of the EMA G. fmnist: dcgan with ema 0.999 on Fashion-MNIST, FD (our extractor,
``--samples`` samples against the test split) of the EMA G.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
from pathlib import Path

import torch

from ganforge.training.ema import batch_norms


def with_copied_statistics(ema_G: torch.nn.Module, live_G: torch.nn.Module) -> torch.nn.Module:
    """The EMA weights with the live G's BatchNorm buffers (the old behaviour)."""
    G = copy.deepcopy(ema_G)
    for dst, src in zip(batch_norms(G), batch_norms(live_G), strict=True):
        dst.running_mean.copy_(src.running_mean)
        dst.running_var.copy_(src.running_var)
    return G.eval()


def toy(seeds: int, steps: int) -> None:
    import ganforge.toy as toy_mod
    from ganforge.metrics.toy import NUM_SAMPLES

    rows = {"standing": [], "copied": [], "live G": []}
    captured = {}
    real_ema = toy_mod.EMA

    class Spy(real_ema):  # keeps a handle on the run's EMA to sample it both ways
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            captured["ema"] = self

    toy_mod.EMA = Spy
    try:
        for seed in range(seeds):
            cfg = toy_mod.toy_config("gan", "ring8", ema=0.999, steps=steps, seed=seed)
            run = toy_mod.train_toy(cfg)
            ema = captured["ema"]
            variants = {
                "standing": ema.module,
                "copied": with_copied_statistics(ema.module, run.game.G),
                "live G": run.game.G,
            }
            for name, G in variants.items():
                x = toy_mod.generate(run.game, NUM_SAMPLES, cfg.seed + 10_000, G)
                rows[name].append(toy_mod._metrics(x, run.mixture))
            print(f"seed {seed}: " + ", ".join(f"{k} {v[-1]}" for k, v in rows.items()))
    finally:
        toy_mod.EMA = real_ema
    print(f"\nring8, gan + ema 0.999, {steps} steps, {seeds} seeds (mean):")
    print("| EMA G sampled with | high quality | modes | reverse KL |")
    print("|---|---|---|---|")
    for name, ms in rows.items():
        hq = statistics.mean(m["high_quality"] for m in ms)
        modes = statistics.mean(m["modes"] for m in ms)
        kl = statistics.mean(m["reverse_kl"] for m in ms)
        print(f"| {name} | {hq:.3f} | {modes:.2f} | {kl:.3f} |")


def fmnist(steps: int, samples: int, out: Path) -> None:
    import ganforge
    from ganforge.metrics.evaluate import evaluate_images
    from ganforge.training import checkpoint as ckpt

    if not (out / "run.json").exists():
        ganforge.train("dcgan", out, steps=steps, seed=1, ema=0.999, report=False)
    run = ganforge.load_run(out)  # EMA G with its standing statistics, as saved
    state = ckpt.load_checkpoint(ckpt.latest_checkpoint(out / "checkpoints"))
    live = copy.deepcopy(run.G)
    live.load_state_dict(state["models"]["G"])
    live.eval()
    variants = {
        "standing": run.G,
        "copied": with_copied_statistics(run.G, live),
        "live G": live,
    }
    print(f"dcgan + ema 0.999, {run.step} steps, FD of {samples} samples vs the test split:")
    print("| G sampled | FD |")
    print("|---|---|")
    for name, G in variants.items():
        run.G = G
        run.game.G = G
        images = run.sample(samples, seed=0)
        fd = evaluate_images(images, "fashion-mnist", metrics="fid")["fid"]
        print(f"| {name} | {fd:.2f} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["toy", "fmnist"])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--samples", type=int, default=10_000)
    p.add_argument("--out", type=Path, default=Path("runs/bench-ema-dcgan"))
    args = p.parse_args(argv)
    torch.set_num_threads(1 if args.what == "toy" else torch.get_num_threads())
    if args.what == "toy":
        toy(args.seeds, args.steps or 3000)
    else:
        fmnist(args.steps or 2000, args.samples, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
