"""Score the 10-minute pix2pix (fmnist-edges2items) and CycleGAN (fmnist-sneaker2boot) runs.

Train them first (see docs/bench/img2img.md for the exact commands), then:

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/img2img.py \
        --edges runs/bench-edges2items --cycle runs/bench-sneaker2boot --out docs/bench

pix2pix: L1 / PSNR / SSIM of G(edges) vs the 10,000 held-out Fashion-MNIST test items, next to
the identity (edge map as the answer) and blank (all-black) baselines. CycleGAN: share of the
1,000 test sneakers (boots) that a Fashion-MNIST classifier calls ankle boots (sneakers) after
translation, and the cycle reconstruction L1. The classifier is the shipped one of
``ganforge.metrics.features`` when importable; otherwise a STAND-IN small CNN trained here for
one pass over the Fashion-MNIST training set (its test accuracy is reported with the scores).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganforge import api
from ganforge.data import load_dataset
from ganforge.metrics.translation import evaluate_run
from ganforge.views.grids import save_grid


def _cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


def stand_in_classifier(seed: int = 0, epochs: int = 1) -> tuple[nn.Module, float]:
    """A small CNN (conv32-conv64-fc128-10) trained on Fashion-MNIST train; (model, test acc)."""
    torch.manual_seed(seed)
    net = _cnn()
    train, test = load_dataset("fashion-mnist", "train"), load_dataset("fashion-mnist", "test")
    x = train.images.float().div(127.5).sub(1)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            idx = perm[i : i + 128]
            loss = F.cross_entropy(net(x[idx]), train.labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        xt = test.images.float().div(127.5).sub(1)
        pred = torch.cat([net(xt[i : i + 1000]).argmax(1) for i in range(0, len(xt), 1000)])
    return net, float((pred == test.labels).float().mean())


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--edges", help="pix2pix run on fmnist-edges2items")
    p.add_argument("--cycle", help="cyclegan run on fmnist-sneaker2boot")
    p.add_argument("--out", default="docs/bench")
    p.add_argument("--img", default="docs/img")
    p.add_argument(
        "--classifier-cache",
        default="runs/standin-fmnist-cnn.pt",
        help="where the stand-in classifier's weights and test accuracy are kept between calls",
    )
    args = p.parse_args()
    torch.set_num_threads(1)
    results: dict = {}
    if args.edges:
        run = api.load_run(args.edges, device="cpu")
        results["pix2pix"] = {"run": args.edges, "step": run.step, **evaluate_run(run)}
        save_grid(_grid(run, "test"), Path(args.img) / "img2img-edges2items.png", nrow=8, scale=2)
    if args.cycle:
        run = api.load_run(args.cycle, device="cpu")
        try:
            from ganforge.metrics.translation import fashion_classifier

            classifier, source, acc = fashion_classifier(), "ganforge.metrics.features", None
        except Exception:
            net, acc = _cached_stand_in(Path(args.classifier_cache))
            source = "STAND-IN small CNN trained by this script (1 epoch of Fashion-MNIST train)"

            def classifier(x):
                return net(x)

        scores = evaluate_run(run, classifier=classifier)
        results["cyclegan"] = {
            "run": args.cycle,
            "step": run.step,
            "classifier": source,
            "classifier_test_accuracy": acc,
            **scores,
        }
        save_grid(_grid(run, "test"), Path(args.img) / "img2img-sneaker2boot.png", nrow=8, scale=2)
    out = Path(args.out) / "img2img.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


def _cached_stand_in(path: Path) -> tuple[nn.Module, float]:
    if path.is_file():
        saved = torch.load(path)
        net = _cnn()
        net.load_state_dict(saved["weights"])
        return net.eval(), saved["test_accuracy"]
    t0 = time.time()
    net, acc = stand_in_classifier()
    print(f"stand-in classifier: {time.time() - t0:.0f} s, test accuracy {acc:.4f}")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"weights": net.state_dict(), "test_accuracy": acc}, path)
    return net, acc


@torch.no_grad()
def _grid(run, split: str) -> torch.Tensor:
    """The game's own grid layout on the first test images."""
    from ganforge.games.translation import grid_source

    data = load_dataset(run.cfg.dataset, split, None, run.cfg.image_size, run.cfg.channels)
    run.game._grid = grid_source(data)
    inputs = run.game.fixed_inputs(16, 0, run.device)
    return run.game.render(run.G, inputs)


if __name__ == "__main__":
    main()
