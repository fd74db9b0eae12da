"""Which feature extractor: the shipped ones, local Inception-v3 weights, or a domain extractor.

Inception-v3 (Szegedy et al. 2016), the network FID (Heusel et al. 2017) is defined on, cannot be
downloaded here, and ImageNet features are a poor fit for 28x28 grayscale images anyway. So the
metrics rest on small CNN classifiers we train (``scripts/train_features.py``) and ship in
``ganforge/metrics/weights/<name>.safetensors`` with a JSON card. The feature space is the
penultimate layer: the 128 ReLU activations of the hidden fully connected layer, i.e. the input of
the final linear classifier. FD/KID/precision/recall numbers computed on these features are
comparable only with numbers computed with the same extractor (the card's ``sha256``).

``inception:PATH`` loads the FID Inception-v3 weights (``pt_inception-2015-12-05-6726825d.pth``,
the state dict pytorch-fid and torch-fidelity use) from a local file; the weights are NOT bundled.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from ganforge.errors import GanforgeError
from ganforge.metrics.domain import load_domain_extractor
from ganforge.metrics.extractor import FeatureExtractor, SmallCNN
from ganforge.metrics.inception import load_inception

WEIGHTS_DIR = Path(str(resources.files("ganforge.metrics") / "weights"))
SHIPPED = ("fashion-mnist", "mnist")
# Datasets whose images the shipped extractors understand (same 1x28x28 domain).
EXTRACTOR_FOR_DATASET = {"fashion-mnist": "fashion-mnist", "mnist": "mnist", "mnist5k": "mnist"}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_card(name: str) -> dict[str, Any]:
    path = WEIGHTS_DIR / f"{name}.json"
    if not path.is_file():
        raise GanforgeError(f"no card for feature extractor {name!r} ({path} is missing)")
    return json.loads(path.read_text())


def load_feature_extractor(
    name: str = "fashion-mnist", device: str | torch.device = "cpu", batch_size: int = 500
) -> FeatureExtractor:
    """The shipped extractor ``name`` (fashion-mnist, mnist, or a dataset that maps to one such as
    mnist5k), ``inception:PATH`` for local FID Inception-v3 weights (not bundled), or a
    ``PATH.safetensors`` written by ``ganforge features train`` (metrics/domain.py)."""
    if name.startswith("inception:"):
        return load_inception(name.partition(":")[2], device=device, batch_size=batch_size)
    if name.endswith(".safetensors"):  # made by `ganforge features train`
        return load_domain_extractor(name, device=device, batch_size=batch_size)
    key = EXTRACTOR_FOR_DATASET.get(name, name)
    if key not in SHIPPED:
        raise GanforgeError(
            f"no feature extractor for {name!r}: choose {', '.join(SHIPPED)}, inception:PATH "
            "(Inception-v3 FID weights from a local file; they are not bundled) or a "
            "PATH.safetensors made by `ganforge features train`"
        )
    path = WEIGHTS_DIR / f"{key}.safetensors"
    if not path.is_file():
        raise GanforgeError(
            f"feature weights {path} are missing: run scripts/train_features.py --name {key}"
        )
    from safetensors.torch import load_file

    card = load_card(key)
    net = SmallCNN(width=int(card.get("width", 24)), feature_dim=int(card["feature_dim"]))
    net.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})
    card = {**card, "name": key, "sha256": _sha256(path)}
    return FeatureExtractor(net, card, batch_size=batch_size, device=device)


def extractor_for_dataset(dataset: str) -> str | None:
    """The shipped extractor suited to ``dataset``, or None."""
    return EXTRACTOR_FOR_DATASET.get(dataset)
