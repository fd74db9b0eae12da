"""A classifier used as a feature space: the shared parts of every extractor.

A feature extractor maps images x to phi(x) in R^D, the activations of a trained classifier's
penultimate layer (as FID uses Inception-v3's pool3, Heusel et al. 2017). Here: the small CNN
of the shipped extractors (:class:`SmallCNN`), its conv blocks (reused by the domain CNN), the
input check (:func:`prepare_images`) and :class:`FeatureExtractor`, which batches any net with
``embed`` (features) and ``head`` (logits) and divides features by the card's ``feature_scale``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ganforge.errors import GanforgeError

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


class ConvClassifier(nn.Module):
    """conv trunk -> FC + ReLU (the features phi(x), ``embed``) -> dropout -> FC (the logits).
    State-dict keys: ``conv.*``, ``fc.*``, ``head.*``."""

    def __init__(
        self, conv: nn.Module, conv_out: int, feature_dim: int, outputs: int, dropout: float
    ):
        super().__init__()
        self.conv = conv
        self.fc = nn.Linear(conv_out, feature_dim)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(feature_dim, outputs)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc(self.conv(x).flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.embed(x)))


class SmallCNN(ConvClassifier):
    """Three conv blocks (conv3x3-BN-ReLU-maxpool; w, 2w, 4w channels; 28->14->7->3), then
    FC 36w->128 + ReLU (the feature layer), dropout 0.3, and FC 128->10 (the logits)."""

    def __init__(self, num_classes: int = 10, width: int = 24, feature_dim: int = FEATURE_DIM):
        chans = [1, width, 2 * width, 4 * width]
        conv = nn.Sequential(*conv_blocks(chans))
        super().__init__(conv, chans[-1] * 3 * 3, feature_dim, num_classes, dropout=0.3)


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
