"""Train a shipped feature extractor (small CNN classifier) reproducibly.

    python scripts/train_features.py --name fashion-mnist          # train split -> test split
    python scripts/train_features.py --name mnist                  # full MNIST if its IDX files
                                                                   # are found, else mnist5k

Writes src/ganforge/metrics/weights/<name>.safetensors and <name>.json (the card: accuracy,
training data, feature layer, seed, command). Fixed seed, one thread by default, deterministic
data order; the same command on the same torch version gives the same weights on the CPU.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
from torch import nn

from ganforge.data.catalog import load_dataset
from ganforge.errors import DataError
from ganforge.metrics.extractor import FEATURE_DIM, SmallCNN
from ganforge.metrics.features import WEIGHTS_DIR


def load_data(name: str) -> tuple[str, object, object]:
    if name == "fashion-mnist":
        return "fashion-mnist", load_dataset(name, "train"), load_dataset(name, "test")
    try:
        return "mnist", load_dataset("mnist", "train"), load_dataset("mnist", "test")
    except DataError as exc:
        print(f"full MNIST not found ({exc}); training on mnist5k instead", file=sys.stderr)
        return "mnist5k", load_dataset("mnist5k", "train"), load_dataset("mnist5k", "test")


def evaluate(net: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    net.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, len(images), 1000):
            x = images[s : s + 1000].float().mul(2 / 255).sub(1)
            correct += (net(x).argmax(1) == labels[s : s + 1000]).sum().item()
    return correct / len(images)


def augment(x: torch.Tensor, gen: torch.Generator, flip: bool) -> torch.Tensor:
    """Horizontal flips for clothes; for digits a random shift of up to 2 pixels per batch."""
    n = x.shape[0]
    if not flip:
        padded = nn.functional.pad(x, (2, 2, 2, 2), value=-1.0)
        dx, dy = torch.randint(0, 5, (2,), generator=gen).tolist()
        return padded[:, :, dy : dy + 28, dx : dx + 28]
    if flip:
        mask = torch.rand(n, generator=gen) < 0.5
        x = torch.where(mask.view(-1, 1, 1, 1), x.flip(3), x)
    return x


def feature_rms(net: SmallCNN, images: torch.Tensor) -> float:
    """RMS of the feature entries over ``images`` (the extractor divides features by it)."""
    net.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(images), 1000):
            f = net.embed(images[s : s + 1000].float().mul(2 / 255).sub(1)).double()
            total += f.pow(2).sum().item()
            count += f.numel()
    return math.sqrt(total / count)


def update_card(name: str, out: Path) -> None:
    """Add ``feature_scale`` to an existing card from its weights (no retraining)."""
    from safetensors.torch import load_file

    card = json.loads((out / f"{name}.json").read_text())
    net = SmallCNN(width=card["width"], feature_dim=card["feature_dim"])
    net.load_state_dict(load_file(str(out / f"{name}.safetensors")))
    _, train, _ = load_data(name)
    card["feature_scale"] = round(feature_rms(net, train.images), 6)
    (out / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", choices=["fashion-mnist", "mnist"], default="fashion-mnist")
    p.add_argument("--epochs", type=int, default=0, help="default 6 (fashion) / 20 (mnist5k)")
    p.add_argument("--width", type=int, default=24, help="channels of the first conv block")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(WEIGHTS_DIR))
    p.add_argument(
        "--update-card", action="store_true", help="only recompute feature_scale in the card"
    )
    args = p.parse_args(argv)
    if args.update_card:
        update_card(args.name, Path(args.out))
        return 0
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    data_name, train, test = load_data(args.name)
    epochs = args.epochs or (6 if data_name != "mnist5k" else 20)
    net = SmallCNN(width=args.width, feature_dim=FEATURE_DIM)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    steps_per_epoch = len(train) // args.batch_size
    total = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
    )
    gen = torch.Generator().manual_seed(args.seed)
    loss_fn = nn.CrossEntropyLoss()  # takes raw logits (no softmax before it)
    t0 = time.time()
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(len(train), generator=gen)
        for i in range(steps_per_epoch):
            idx = perm[i * args.batch_size : (i + 1) * args.batch_size]
            x = train.images[idx].float().mul(2 / 255).sub(1)
            x = augment(x, gen, flip=args.name == "fashion-mnist")
            loss = loss_fn(net(x), train.labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if (i + 1) % 100 == 0:
                print(f"  step {i + 1}/{steps_per_epoch} ({time.time() - t0:.0f} s)", flush=True)
        acc = evaluate(net, test.images, test.labels)
        print(
            f"epoch {epoch + 1}/{epochs} loss {loss.item():.4f} test acc {acc:.4f} "
            f"({time.time() - t0:.0f} s)",
            flush=True,
        )
    net.eval()
    train_acc = evaluate(net, train.images, train.labels)
    test_acc = evaluate(net, test.images, test.labels)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(out / f"{args.name}.safetensors"))
    w = args.width
    card = {
        "name": args.name,
        "architecture": f"SmallCNN: 3x(conv3x3-BN-ReLU-maxpool) {w}/{2 * w}/{4 * w} channels, "
        f"FC {36 * w}->{FEATURE_DIM}, FC {FEATURE_DIM}->10",
        "width": w,
        "feature_dim": FEATURE_DIM,
        "feature_layer": "fc (128 ReLU activations before the final linear layer)",
        "input": "(N, 1, 28, 28) float in [-1, 1]",
        "training_data": f"{data_name} train split ({len(train)} images)",
        "test_data": f"{data_name} test split ({len(test)} images)",
        "test_accuracy": round(test_acc, 4),
        "train_accuracy": round(train_acc, 4),
        "feature_scale": round(feature_rms(net, train.images), 6),
        "epochs": epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "torch": torch.__version__,
        "train_seconds": round(time.time() - t0),
        "command": "python scripts/train_features.py " + " ".join(argv or sys.argv[1:]),
    }
    (out / f"{args.name}.json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
