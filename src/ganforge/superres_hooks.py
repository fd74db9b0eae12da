"""What an SRGAN run needs before its first step, as a training hook (Ledig et al. 2017,
arXiv:1609.04802).

- The content loss's feature map phi: the shipped Fashion-MNIST classifier's conv trunk up to
  the activation of its last block, before that block's pooling (28 px -> 96 x 7 x 7), on the
  luminance of RGB images; the stand-in for the paper's VGG54 (ImageNet VGG19 weights are not
  available offline). The game cannot import metrics, so this hook hands phi to it.
- ``init_from``: the paper trains SRGAN starting from the trained SRResNet ("we employed the
  trained MSE-based SRResNet network as initialization for the generator"); a fresh run
  (step 0) copies G's weights from that run's latest checkpoint. A resumed run does not: its
  own checkpoint already holds them.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ganforge.config import Config
from ganforge.errors import GanforgeError
from ganforge.games.superres import SRGANGame
from ganforge.metrics.extractor import ConvClassifier
from ganforge.metrics.features import load_feature_extractor
from ganforge.training.hook import Hook
from ganforge.training.loaded_run import load_run, mismatch
from ganforge.training.loop import Loop

# the RGB -> luminance weights of ITU-R BT.601, for the gray-scale extractor
_LUMA = (0.299, 0.587, 0.114)


def content_features(device: torch.device | str = "cpu") -> nn.Module:
    """phi: (N, 1|3, H, W) in [-1, 1] -> the last conv block's activation (frozen, eval)."""
    net = load_feature_extractor("fashion-mnist").net
    if not isinstance(net, ConvClassifier):
        raise GanforgeError("the content loss needs a convolutional feature extractor")
    trunk = nn.Sequential(*list(net.conv.children())[:-1]).to(device).eval()
    trunk.requires_grad_(False)
    return _Phi(trunk)


class _Phi(nn.Module):
    def __init__(self, trunk: nn.Module):
        super().__init__()
        self.trunk = trunk
        self.register_buffer("luma", torch.tensor(_LUMA).view(1, 3, 1, 1))

    def train(self, mode: bool = True) -> _Phi:  # noqa: ARG002 - frozen: always eval
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 3:
            x = (x * self.luma.to(x.dtype)).sum(1, keepdim=True)
        return self.trunk(x)


class SuperResSetup(Hook):
    """Hands SRGAN its feature map and, in a fresh run, starts G from ``init_from``."""

    def __init__(self, init_from: str = "") -> None:
        self.init_from = init_from
        self.phi: nn.Module | None = None

    def on_start(self, loop: Loop) -> None:
        game = loop.game
        if not isinstance(game, SRGANGame):
            return
        # building nets draws from torch's RNG: a resumed run (RNG restored from its
        # checkpoint) and a fresh one must see the same draws in their steps
        with torch.random.fork_rng(devices=[]):
            if loop.cfg.content_loss == "features":
                self.phi = content_features(loop.device)
                game.set_features(self.phi.forward)  # a function, not a submodule
            if self.init_from and loop.step == 0:
                copy_generator(self.init_from, game.G, loop.cfg)
                if loop.ema is not None:
                    loop.ema.module.load_state_dict(game.G.state_dict())


def copy_generator(run: str | Path, G: nn.Module, cfg: Config) -> None:
    """G's weights from the run folder ``run`` (an srresnet or srgan run of the same size)."""
    try:
        src = load_run(run, device="cpu")
    except GanforgeError as exc:
        raise GanforgeError(f"init_from={run}: {exc}") from None
    if src.cfg.game not in ("srresnet", "srgan"):
        raise GanforgeError(
            f"init_from={run} is a {src.cfg.game} run: it needs a srresnet (or srgan) run"
        )
    if (src.cfg.dataset, src.cfg.image_size) != (cfg.dataset, cfg.image_size):
        raise GanforgeError(
            f"init_from={run} was trained on {src.cfg.dataset} (image_size "
            f"{src.cfg.image_size}), this run on {cfg.dataset} (image_size {cfg.image_size})"
        )
    try:
        G.load_state_dict(src.G.state_dict())
    except RuntimeError as exc:
        raise GanforgeError(
            f"init_from={run}: its generator does not fit this one ({mismatch(exc)}); use the "
            "same g_width, sr_blocks and g_norm"
        ) from None


def superres_hooks(cfg: Config) -> list[Hook]:
    """The hooks a super-resolution run needs (none for other games)."""
    return [SuperResSetup(cfg.init_from)] if cfg.game == "srgan" else []
