"""Domain feature extractors: a small CNN trained on the user's own images (``ganforge features``).

The shipped extractors only understand 1x28x28 Fashion-MNIST/MNIST, so a run on an own image
folder had nothing to be scored with offline. ``ganforge features train DATASET`` fits a
:class:`DomainCNN` on DATASET's images at the run's size and channels and writes

* ``PATH`` (``.safetensors``): the weights, and
* ``PATH`` with ``.json``: the card (input shape, feature dim, objective, classes, scale, ...),

which ``ganforge eval RUN --features PATH`` loads. The objective (see docs/metrics.md):

* **classes**: the images' labels: a named dataset's, or a folder's class sub-folders
  (``root/<class>/*.png``, at least two of them); plain cross-entropy with random flips.
* **rotation** (Gidaris et al. 2018, arXiv:1803.07728), when there are no labels: each image is
  turned by 0, 90, 180 or 270 degrees and the net predicts which. Telling them apart needs the
  objects' shape and orientation, so the features describe content, and the task needs no
  augmentation tuning or large batches (unlike contrastive objectives such as SimCLR).

Features are the 128 ReLU activations before the last linear layer, divided by their RMS over
the training images (``feature_scale``), as for the shipped extractors.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ganforge.errors import DataError, GanforgeError
from ganforge.metrics.extractor import FEATURE_DIM, ConvClassifier, FeatureExtractor, conv_blocks

MIN_SIDE = 8  # three 2x max-pools


class DomainCNN(ConvClassifier):
    """Three conv blocks (conv3x3-BN-ReLU-maxpool; w, 2w, 4w channels), global average pool,
    FC 4w->128 + ReLU (the features), dropout 0.2, FC 128->outputs. Any (C, S, S) with S >= 8."""

    def __init__(
        self, channels: int, outputs: int, width: int = 32, feature_dim: int = FEATURE_DIM
    ):
        chans = [channels, width, 2 * width, 4 * width]
        conv = nn.Sequential(*conv_blocks(chans), nn.AdaptiveAvgPool2d(1))
        super().__init__(conv, chans[-1], feature_dim, outputs, dropout=0.2)


def folder_classes(root: Path, paths: list[Path]) -> tuple[list[str], list[int]] | None:
    """Class names and per-image labels from ``root/<class>/...``; None unless every image is in
    a sub-folder and there are at least two of them."""
    tops = [p.relative_to(root).parts for p in paths]
    if any(len(parts) < 2 for parts in tops):
        return None
    names = sorted({parts[0] for parts in tops})
    if len(names) < 2:
        return None
    index = {n: i for i, n in enumerate(names)}
    return names, [index[parts[0]] for parts in tops]


def load_training_images(
    dataset: str, image_size: int, channels: int
) -> tuple[torch.Tensor, torch.Tensor | None, list[str]]:
    """uint8 images (N, C, S, S), labels or None, class names, of ``dataset``'s train split."""
    from ganforge.data.catalog import load_dataset
    from ganforge.data.folder import list_images, load_image

    prefix, sep, rest = dataset.partition(":")
    if sep and prefix == "folder":
        root = Path(rest).expanduser()
        paths = list_images(root)
        if not paths:
            raise DataError(f"no images found in {root}")
        size, chans = image_size or 64, channels or 3  # the defaults of `train` on folders
        images = torch.from_numpy(np.stack([load_image(p, size, chans) for p in paths]))
        found = folder_classes(root, paths)
        if found is None:
            return images, None, []
        names, labels = found
        return images, torch.tensor(labels), names
    data = load_dataset(dataset, "train", image_size=image_size, channels=channels)
    return data.images, data.labels, list(data.class_names)


def _rotate(x: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image turned by k * 90 degrees, k uniform in 0..3; returns (images, k)."""
    k = torch.randint(0, 4, (x.shape[0],), generator=gen)
    out = x.clone()
    for r in range(1, 4):
        sel = k == r
        out[sel] = torch.rot90(x[sel], r, dims=(2, 3))
    return out, k


def train_domain_extractor(
    dataset: str,
    steps: int = 500,
    image_size: int = 0,
    channels: int = 0,
    batch_size: int = 64,
    width: int = 32,
    lr: float = 2e-3,
    seed: int = 0,
    log=None,
) -> tuple[DomainCNN, dict[str, Any]]:
    """Fit a :class:`DomainCNN` on ``dataset`` (see module docstring); returns (net, card)."""
    if steps < 1:
        raise GanforgeError(f"bad --steps {steps}: must be at least 1")
    images, labels, names = load_training_images(dataset, image_size, channels)
    n, c, s = images.shape[0], images.shape[1], images.shape[-1]
    if s < MIN_SIDE or images.shape[-2] != s:
        raise GanforgeError(
            f"feature extractors need square images of at least {MIN_SIDE} px, got "
            f"{tuple(images.shape[1:])}; pass --image-size"
        )
    if n < 2:
        raise GanforgeError(f"{dataset} has {n} image(s); a feature extractor needs at least 2")
    objective = "classes" if labels is not None else "rotation"
    outputs = len(names) if labels is not None else 4
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = DomainCNN(c, outputs, width)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: 0.5 * (1 + math.cos(math.pi * min(t, steps) / steps))
    )
    loss_fn = nn.CrossEntropyLoss()
    bs = min(batch_size, n)
    t0 = time.time()
    net.train()
    for step in range(1, steps + 1):
        idx = torch.randint(0, n, (bs,), generator=gen)
        x = images[idx].float().mul(2 / 255).sub(1)
        flip = torch.rand(bs, generator=gen) < 0.5
        x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
        if labels is None:
            x, y = _rotate(x, gen)
        else:
            y = labels[idx]
        loss = loss_fn(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if log and (step % 100 == 0 or step == steps):
            log(f"step {step}/{steps}  loss {loss.item():.4f}  ({time.time() - t0:.0f} s)")
    net.eval()
    accuracy, rms = _measure(net, images, labels, gen)
    card = {
        "kind": "domain",
        "dataset": dataset,
        "images": n,
        "objective": objective,
        "classes": names if labels is not None else ["0", "90", "180", "270"],
        "input_shape": [c, s, s],
        "input": f"(N, {c}, {s}, {s}) float in [-1, 1]",
        "width": width,
        "outputs": outputs,
        "feature_dim": FEATURE_DIM,
        "feature_layer": "fc (128 ReLU activations before the final linear layer)",
        "train_accuracy": round(accuracy, 4),
        "feature_scale": round(rms, 6),
        "steps": steps,
        "batch_size": bs,
        "lr": lr,
        "seed": seed,
        "torch": torch.__version__,
        "train_seconds": round(time.time() - t0, 1),
    }
    return net, card


@torch.no_grad()
def _measure(net: DomainCNN, images, labels, gen) -> tuple[float, float]:
    """Training-task accuracy (on rotated copies for ``rotation``) and the features' RMS."""
    correct, total, sq, count = 0, 0, 0.0, 0
    for start in range(0, images.shape[0], 500):
        x = images[start : start + 500].float().mul(2 / 255).sub(1)
        f = net.embed(x).double()
        sq, count = sq + f.pow(2).sum().item(), count + f.numel()
        if labels is None:
            x, y = _rotate(x, gen)
        else:
            y = labels[start : start + 500]
        correct += (net(x).argmax(1) == y).sum().item()
        total += y.shape[0]
    return correct / total, math.sqrt(sq / count) or 1.0


def card_path(path: Path) -> Path:
    return path.with_suffix(".json")


def save_domain_extractor(net: DomainCNN, card: dict[str, Any], path: str | Path) -> Path:
    """Write the weights to ``path`` and the card next to it (``.json``), each atomically."""
    from safetensors.torch import save_file

    path = Path(path).expanduser()
    if path.suffix != ".safetensors":
        raise GanforgeError(f"--out {path}: the file name must end in .safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(state, str(tmp))
    os.replace(tmp, path)
    card = {**card, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    tmp = card_path(path).with_name(f".{card_path(path).name}.tmp")
    tmp.write_text(json.dumps(card, indent=2) + "\n")
    os.replace(tmp, card_path(path))
    return path


def is_domain_extractor(name: str) -> bool:
    return name.endswith(".safetensors")


def load_domain_extractor(
    path: str | Path, device: str | torch.device = "cpu", batch_size: int = 500
) -> FeatureExtractor:
    """The extractor written by ``ganforge features train`` at ``path``."""
    path = Path(path).expanduser()
    meta = card_path(path)
    if not path.is_file():
        raise GanforgeError(
            f"feature extractor {path} not found; make one with `ganforge features train "
            f"DATASET --out {path}`"
        )
    if not meta.is_file():
        raise GanforgeError(f"{path} has no card {meta.name} next to it (written with it)")
    try:
        card = json.loads(meta.read_text())
        c, s, _ = (int(v) for v in card["input_shape"])
        net = DomainCNN(c, int(card["outputs"]), int(card["width"]), int(card["feature_dim"]))
        from safetensors.torch import load_file

        net.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise GanforgeError(f"{path} is not a ganforge feature extractor ({first})") from None
    card = {
        **card,
        "name": f"domain:{path.name}",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    return FeatureExtractor(net, card, (c, s, s), batch_size=batch_size, device=device)


def train_command(dataset: str, shape: tuple[int, ...]) -> str:
    """The command that makes an extractor for ``dataset`` at image shape ``shape`` (C, S, S)."""
    out = f"{Path(dataset.partition(':')[2] or dataset).name or 'data'}-features.safetensors"
    size = f" --image-size {shape[-1]} --channels {shape[0]}" if len(shape) == 3 else ""
    return f"ganforge features train {dataset}{size} --out {out}"


def log_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
