"""Scores of a StarGAN run (Choi et al. 2018, arXiv:1711.09020) on its task's test split.

For every source domain s and target domain t (the pair s = t included: G should then keep the
image), each test image x of s is translated to y = G(x, t) and back, x' = G(y, s):

- target-domain accuracy acc(s -> t): the share of y that the shipped Fashion-MNIST classifier
  (:func:`ganforge.metrics.translation.fashion_classifier`) assigns to t, deciding among the
  task's domains only (argmax of its logits over their Fashion-MNIST classes); the same
  classifier's accuracy on the real test images of each domain is the ceiling, reported beside;
- reconstruction L1 = E|x' - x| on the [0, 1] scale, per pair and its mean over s != t.

Built-in tasks (``fmnist-tops``, ``fmnist-shoes``) get the accuracy; other datasets (folders)
have no classifier for their domains and get the reconstruction only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from ganforge.data import load_dataset
from ganforge.data.domains import fashion_classes
from ganforge.metrics.translation import fashion_classifier

Tensor = torch.Tensor


def _unit01(x: Tensor) -> Tensor:
    return x.float().add(1).div(2).clamp(0, 1)


def _as_fashion_input(x: Tensor) -> Tensor:
    """[-1, 1] images as the classifier takes them: one channel (mean of RGB), 28 x 28."""
    if x.shape[1] != 1:
        x = x.mean(1, keepdim=True)
    if x.shape[-1] != 28:
        x = F.interpolate(x, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
    return x


@torch.no_grad()
def _apply(G: Any, x: Tensor, k: int, domains: int, device: Any, batch: int = 256) -> Tensor:
    """G(x, k) for all of ``x``, in batches, on the CPU."""
    out = []
    for i in range(0, x.shape[0], batch):
        chunk = x[i : i + batch].to(device)
        onehot = F.one_hot(torch.full((chunk.shape[0],), k), domains).float().to(device)
        out.append(G(chunk, onehot).float().cpu())
    return torch.cat(out)


@torch.no_grad()
def evaluate_stargan(
    run: Any, n: int = 0, classifier: Callable[[Tensor], Tensor] | None = None
) -> dict[str, Any]:
    """Scores of a loaded StarGAN run: ``n`` > 0 test images per domain (0 = all);
    ``classifier`` maps [-1, 1] 28 px gray images to the 10 Fashion-MNIST logits (default the
    shipped one)."""
    cfg, game = run.cfg, run.game
    data = load_dataset(cfg.dataset, "test", cfg.data_dir, cfg.image_size, cfg.channels)
    k = game.num_domains
    names = list(game.domains)
    sources = []
    for s in range(k):
        x = data.images[data.labels == s]
        sources.append((x[:n] if n else x).float().div(127.5).sub(1))
    classes = fashion_classes(cfg.dataset)
    logits_fn = (classifier or fashion_classifier()) if classes else None

    def domain_of(images: Tensor) -> Tensor:
        logits = torch.cat(
            [logits_fn(_as_fashion_input(images[i : i + 256])) for i in range(0, len(images), 256)]
        )
        return logits[:, list(classes)].argmax(1)

    acc: dict[str, dict[str, float]] = {}
    rec: dict[str, dict[str, float]] = {}
    for s, x in enumerate(sources):
        acc[names[s]], rec[names[s]] = {}, {}
        for t in range(k):
            y = _apply(run.G, x, t, k, run.device)
            back = _apply(run.G, y, s, k, run.device)
            rec[names[s]][names[t]] = float((_unit01(back) - _unit01(x)).abs().mean())
            if logits_fn is not None:
                acc[names[s]][names[t]] = float((domain_of(y) == t).double().mean())
    off = [rec[names[s]][names[t]] for s in range(k) for t in range(k) if s != t]
    out: dict[str, Any] = {
        "game": "stargan",
        "domains": names,
        "test_images": [int(x.shape[0]) for x in sources],
        "reconstruction_l1": sum(off) / len(off),
        "reconstruction_l1_pairs": rec,
    }
    if logits_fn is None:
        out["target_accuracy"] = None
        return out
    real = {names[s]: float((domain_of(x) == s).double().mean()) for s, x in enumerate(sources)}
    pairs = [acc[a][b] for a in names for b in names]
    out.update(
        target_accuracy=acc,
        real_accuracy=real,
        mean_target_accuracy=sum(pairs) / len(pairs),
        min_target_accuracy=min(pairs),
        classifier="shipped Fashion-MNIST classifier, argmax over the task's domains",
    )
    return out


def score_table(scores: dict[str, Any]) -> str:
    """The accuracy table of :func:`evaluate_stargan` (rows: source, columns: target, then the
    classifier's accuracy on the real images of the source: the ceiling) and the
    reconstruction error, as text."""
    names = scores["domains"]
    width = max(10, *(len(n) + 2 for n in names))
    lines = []
    acc = scores.get("target_accuracy")
    if acc:
        head = "source \\ target".ljust(16) + "".join(n.rjust(width) for n in names)
        lines.append(head + "real (ceiling)".rjust(16))
        for s in names:
            cells = "".join(f"{100 * acc[s][t]:.1f} %".rjust(width) for t in names)
            real = f"{100 * scores['real_accuracy'][s]:.1f} %".rjust(16)
            lines.append(s.ljust(16) + cells + real)
        lines.append(f"mean target-domain accuracy {100 * scores['mean_target_accuracy']:.1f} %")
    else:
        lines.append("target-domain accuracy: no classifier for these domains (folder data)")
    lines.append(f"reconstruction L1 on [0, 1] (s != t): {scores['reconstruction_l1']:.4f}")
    return "\n".join(lines)
