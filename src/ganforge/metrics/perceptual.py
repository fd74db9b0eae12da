"""Perceptual distances between two batches of images, for PPL and projection.

LPIPS (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features as a Perceptual
Metric", arXiv:1801.03924) compares images in the activations of a trained CNN:

    d(x0, x1) = sum_l  mean_{h,w}  sum_c  w_{l,c} (f^l_{hwc}(x0) - f^l_{hwc}(x1))^2,

where f^l is layer l's activation divided by its norm over channels at each position
(``channel-normalised``) and w_l >= 0 are learned per-channel weights (uniform weights, all 1,
give the paper's "baseline" distance). Its VGG16 weights cannot be downloaded here, so the
default distance (``extractor``) applies that formula to the conv trunk of our shipped feature
extractor (:mod:`ganforge.metrics.features`): the activations after each of its three
conv-BN-ReLU blocks, uniform weights. The trunk is fully convolutional, so it takes any size
of at least 8 px; a colour image is compared channel by channel through the one-channel trunk
and the channel distances are averaged.

Other distances (``load_distance``):

- ``lpips:VGG16.pth,LIN.pth``: real LPIPS-VGG from two LOCAL files (not bundled): torchvision's
  VGG16 state dict (keys ``features.N.weight``) and the ``lpips`` package's linear-layer file
  (``weights/v0.1/vgg.pth``, keys ``linK.model.1.weight`` of shape (1, C, 1, 1)).
- ``torchscript:PATH``: any TorchScript module ``m(x0, x1) -> (N,)`` taking images in [-1, 1].
- ``pixel``: the mean squared pixel difference (the closed-form checks of PPL use it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ganforge.errors import GanforgeError

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
MIN_SIDE = 8  # the trunk's three 2x max-pools
# The LPIPS input scaling (its ScalingLayer): x' = (x - shift) / scale, per RGB channel.
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)
VGG16_CONVS = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
VGG16_TAPS = (3, 8, 15, 22, 29)  # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3


def unit_channels(f: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """``f`` (N, C, H, W) divided by its L2 norm over channels at every position."""
    return f / (f.pow(2).sum(1, keepdim=True).sqrt() + eps)


def layer_distance(
    feats0: list[torch.Tensor], feats1: list[torch.Tensor], weights: list[torch.Tensor] | None
) -> torch.Tensor:
    """The LPIPS sum over layers of the spatial mean of the (weighted) channel sum of squared
    differences of channel-normalised activations; (N,)."""
    total = feats0[0].new_zeros(feats0[0].shape[0])
    for k, (a, b) in enumerate(zip(feats0, feats1, strict=True)):
        sq = (unit_channels(a) - unit_channels(b)).pow(2)
        if weights is not None:
            sq = sq * weights[k].view(1, -1, 1, 1)
        total = total + sq.sum(1).mean((1, 2))
    return total


class TrunkDistance(nn.Module):
    """The LPIPS formula on a conv trunk's activations after every ReLU (uniform weights).

    ``trunk`` is an ``nn.Sequential`` taking one-channel images in [-1, 1]; a C-channel image
    is compared as C one-channel images and the C distances are averaged."""

    def __init__(self, trunk: nn.Sequential, name: str):
        super().__init__()
        self.trunk = trunk.eval()
        self.name = name
        for p in self.trunk.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> TrunkDistance:  # noqa: ARG002 - always eval
        return super().train(False)

    def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for layer in self.trunk:
            x = layer(x)
            if isinstance(layer, nn.ReLU):
                out.append(x)
        return out

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        if x0.dim() != 4 or min(x0.shape[-2:]) < MIN_SIDE:
            raise GanforgeError(
                f"the perceptual distance takes images of at least {MIN_SIDE}x{MIN_SIDE} px; "
                f"got shape {tuple(x0.shape)}: use --ppl-distance pixel"
            )
        n, c = x0.shape[:2]
        both = torch.cat([x0, x1]).float().reshape(2 * n * c, 1, *x0.shape[-2:])
        feats = self.taps(both)
        d = layer_distance([f[: n * c] for f in feats], [f[n * c :] for f in feats], None)
        return d.view(n, c).mean(1)


class LpipsVGG(nn.Module):
    """LPIPS-VGG (v0.1): VGG16's conv layers, the five taps, learned channel weights."""

    def __init__(self, vgg_state: dict[str, torch.Tensor], lin_state: dict[str, torch.Tensor]):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for v in VGG16_CONVS:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(cin, int(v), 3, padding=1), nn.ReLU()]
                cin = int(v)
        self.features = nn.Sequential(*layers)
        try:
            self.features.load_state_dict(
                {
                    k.removeprefix("features."): v.float()
                    for k, v in vgg_state.items()
                    if k.startswith("features.")
                }  # fmt: skip
            )
            self.lin = [lin_state[f"lin{k}.model.1.weight"].float().flatten() for k in range(5)]
        except (RuntimeError, KeyError) as exc:
            first = str(exc).strip().splitlines()[0]
            raise GanforgeError(f"LPIPS files do not fit LPIPS-VGG v0.1: {first}") from None
        self.register_buffer("shift", torch.tensor(LPIPS_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(LPIPS_SCALE).view(1, 3, 1, 1))
        self.name = "lpips-vgg"
        self.eval().requires_grad_(False)

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        x = torch.cat([x0, x1]).float()
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)  # grayscale as RGB, as LPIPS users do
        x = (x - self.shift) / self.scale
        feats, n = [], x0.shape[0]
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in VGG16_TAPS:
                feats.append(x)
        lin = [w.to(x.device) for w in self.lin]
        return layer_distance([f[:n] for f in feats], [f[n:] for f in feats], lin)


def pixel_distance(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
    """Mean squared pixel difference per image; (N,)."""
    return (x0 - x1).pow(2).flatten(1).mean(1)


def _load_state(path: str) -> dict[str, torch.Tensor]:
    p = Path(path)
    if not p.is_file():
        raise GanforgeError(f"{p} not found (LPIPS files are not bundled: give local copies)")
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(p))
        return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged or foreign file: one line, never a traceback
        raise GanforgeError(f"cannot read {p} as a state dict: {type(exc).__name__}") from None


def extractor_trunk(name: str) -> nn.Sequential:
    """The conv trunk of feature extractor ``name`` (a shipped one or a PATH.safetensors of
    ``ganforge features train``), taking one-channel images."""
    from ganforge.metrics.features import load_feature_extractor

    if name.startswith("inception:"):
        raise GanforgeError(
            "the perceptual distance uses a small extractor's conv trunk (fashion-mnist, mnist "
            "or a PATH.safetensors); for an ImageNet network give lpips:VGG16.pth,LIN.pth"
        )
    net = load_feature_extractor(name).net
    trunk = nn.Sequential(*[m for m in net.conv if not isinstance(m, nn.AdaptiveAvgPool2d)])
    first = next(m for m in trunk if isinstance(m, nn.Conv2d))
    if first.in_channels != 1:
        raise GanforgeError(
            f"extractor {name} takes {first.in_channels}-channel images; the perceptual "
            "distance needs a one-channel trunk (fashion-mnist, mnist)"
        )
    return trunk


def load_distance(spec: str | None = None, device: torch.device | str = "cpu") -> nn.Module:
    """The distance named by ``spec`` (see the module docstring; default: the fashion-mnist
    extractor's trunk) as a module ``d(x0, x1) -> (N,)`` with a ``name``."""
    spec = spec or "fashion-mnist"
    if spec == "pixel":
        module: nn.Module = _Fn(pixel_distance, "pixel (mean squared difference)")
    elif spec.startswith("torchscript:"):
        path = spec.partition(":")[2]
        if not Path(path).is_file():
            raise GanforgeError(f"{path} not found: give a TorchScript file m(x0, x1) -> (N,)")
        try:
            module = _Fn(torch.jit.load(path, map_location="cpu"), f"torchscript {path}")
        except Exception as exc:
            raise GanforgeError(
                f"cannot load {path} as TorchScript: {type(exc).__name__}"
            ) from None
    elif spec.startswith("lpips:"):
        files = spec.partition(":")[2].split(",")
        if len(files) != 2:
            raise GanforgeError(f"bad distance {spec!r}: give lpips:VGG16.pth,LIN.pth")
        module = LpipsVGG(_load_state(files[0]), _load_state(files[1]))
    else:
        module = TrunkDistance(extractor_trunk(spec), f"extractor {spec} (LPIPS-style, uniform)")
    return module.to(device)


class _Fn(nn.Module):
    """A distance function (or scripted module) as a named module."""

    def __init__(self, fn: Callable, name: str):
        super().__init__()
        self.fn, self.name = fn, name

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        return self.fn(x0, x1)
