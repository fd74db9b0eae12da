"""Feature extractors for the sample-quality metrics.

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
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganforge.errors import GanforgeError

WEIGHTS_DIR = Path(str(resources.files("ganforge.metrics") / "weights"))
SHIPPED = ("fashion-mnist", "mnist")
# Datasets whose images the shipped extractors understand (same 1x28x28 domain).
EXTRACTOR_FOR_DATASET = {"fashion-mnist": "fashion-mnist", "mnist": "mnist", "mnist5k": "mnist"}
FEATURE_DIM = 128


def conv_blocks(chans: list[int]) -> list[nn.Module]:
    """conv3x3-BN-ReLU-maxpool from chans[i] to chans[i + 1] channels, one block per step."""
    layers: list[nn.Module] = []
    for cin, cout in zip(chans[:-1], chans[1:], strict=True):
        layers += [
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        ]
    return layers


class SmallCNN(nn.Module):
    """Three conv blocks (conv3x3-BN-ReLU-maxpool; w, 2w, 4w channels; 28->14->7->3), then
    FC 36w->128 + ReLU (the feature layer), dropout, and FC 128->10 (the logits)."""

    def __init__(self, num_classes: int = 10, width: int = 24, feature_dim: int = FEATURE_DIM):
        super().__init__()
        chans = [1, width, 2 * width, 4 * width]
        layers = conv_blocks(chans)
        self.conv = nn.Sequential(*layers)
        self.fc = nn.Linear(chans[-1] * 3 * 3, feature_dim)
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(feature_dim, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc(self.conv(x).flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.embed(x)))


def prepare_images(x: torch.Tensor | Any, shape: tuple[int, ...] = (1, 28, 28)) -> torch.Tensor:
    """Images as float32 (N, C, H, W) in [-1, 1]; uint8 [0, 255] is scaled. No hidden resizing:
    a different size or channel count is an error."""
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(x)
    if not shape:  # any (N, 1|3, H, W): the extractor resizes by its documented protocol
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise GanforgeError(f"images of shape {tuple(x.shape)}: expected (N, 1|3, H, W)")
    elif x.dim() == len(shape) and shape[0] == 1:
        x = x.unsqueeze(1)
    if shape and (x.dim() != len(shape) + 1 or tuple(x.shape[1:]) != tuple(shape)):
        raise GanforgeError(
            f"images of shape {tuple(x.shape)} do not fit this feature extractor: it takes "
            f"(N, {', '.join(map(str, shape))}); resize them yourself if that is what you mean"
        )
    if x.dtype == torch.uint8:
        return x.float().mul(2.0 / 255.0).sub(1.0)
    if not torch.is_floating_point(x):
        raise GanforgeError(f"images of dtype {x.dtype}: use float in [-1, 1] or uint8")
    x = x.float()
    if not torch.isfinite(x).all():  # NaN passes the range test below
        raise GanforgeError("images hold NaN or inf values: use float in [-1, 1] or uint8")
    if x.numel() and (x.min() < -1.001 or x.max() > 1.001):
        raise GanforgeError(
            f"float images must lie in [-1, 1] (got {x.min().item():.3g}..{x.max().item():.3g})"
        )
    return x


@dataclass
class Outputs:
    """Features (N, D) and logits (N, K) of one pass, float32 on the CPU."""

    features: torch.Tensor
    logits: torch.Tensor


class FeatureExtractor(nn.Module):
    """A classifier used as a feature space; always in eval mode, batched, no gradients."""

    def __init__(
        self,
        net: nn.Module,
        card: dict[str, Any],
        input_shape: tuple[int, ...] = (1, 28, 28),
        batch_size: int = 500,
        device: str | torch.device = "cpu",
    ):
        super().__init__()
        self.net = net.to(device).eval()
        self.card = card
        self.name = str(card.get("name", "custom"))
        self.input_shape = input_shape
        self.batch_size = batch_size
        self.device = torch.device(device)
        # Features are divided by this constant (the RMS feature entry on the training data,
        # from the card) so kernels and distances see entries of order 1 (KID's cubic kernel
        # is very noisy otherwise). A fixed linear rescaling; FD scales by its square.
        self.scale = float(card.get("feature_scale", 1.0))

    def train(self, mode: bool = True) -> FeatureExtractor:  # noqa: ARG002 - always eval
        return super().train(False)

    @torch.no_grad()
    def outputs(self, x: torch.Tensor | Any) -> Outputs:
        """One batched pass: features and logits."""
        feats, logits = [], []
        n = x.shape[0]
        for start in range(0, n, self.batch_size):
            chunk = prepare_images(x[start : start + self.batch_size], self.input_shape)
            f, lg = self._forward(chunk.to(self.device))
            feats.append(f.float().cpu() / self.scale)
            logits.append(lg.float().cpu())
        if not feats:
            d = int(self.card.get("feature_dim", FEATURE_DIM))
            return Outputs(torch.empty(0, d), torch.empty(0, 10))
        return Outputs(torch.cat(feats), torch.cat(logits))

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.net.embed(x)
        return f, self.net.head(f)

    def features(self, x: torch.Tensor | Any) -> torch.Tensor:
        """Penultimate-layer features (N, D), float32 (convert to float64 for statistics)."""
        return self.outputs(x).features

    def logits(self, x: torch.Tensor | Any) -> torch.Tensor:
        """Class logits (N, 10)."""
        return self.outputs(x).logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


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
        from ganforge.metrics.inception import load_inception

        return load_inception(name.partition(":")[2], device=device, batch_size=batch_size)
    if name.endswith(".safetensors"):  # made by `ganforge features train`
        from ganforge.metrics.domain import load_domain_extractor

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
