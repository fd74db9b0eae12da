"""Issue 24 item 3: dcgan at 32/64 px must not start from a checkerboard, and a collapsed G
must be reported during training."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.config import Config
from ganforge.models import build_generator
from ganforge.run_hooks import view_hooks
from ganforge.training.collapse import CollapseWatch, diversity, pixel_spread
from ganforge.training.trainer import Trainer
from robust_util import load_script

make_shapes = load_script("make_shapes").make_shapes


def finest_scale_share(x: torch.Tensor) -> float:
    """Share of the images' variance at the 2x2-pixel scale (checkerboard, pixel noise)."""
    low = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest")
    return float((x - low).pow(2).mean() / (x - x.mean()).pow(2).mean())


@pytest.mark.parametrize("size", [32, 64])
def test_dcgan_generator_at_32_and_64_px_rgb_starts_without_a_checkerboard(size):
    """Regression: with 3-4 stacked stride-2 transposed convs, 67-85 % of G's initial output
    variance sat at the finest 2x2 scale; D told real from fake by it at once and G collapsed
    to one grey/noise tile. The resize-convolution G keeps that share below 25 %."""
    cfg = Config(arch="dcgan")
    for seed in range(3):
        torch.manual_seed(seed)
        G = build_generator(cfg, 100, (3, size, size))
        with torch.no_grad():
            x = G(torch.randn(32, 100))
        assert x.shape == (32, 3, size, size)
        assert x.std(0).mean() > 0.1  # not constant across z
        assert finest_scale_share(x) < 0.4


def test_dcgan_generator_at_28_px_keeps_its_transposed_convs():
    G = build_generator(Config(arch="dcgan", g_width=8), 100, (1, 28, 28))
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in G.modules()) == 2


def test_diversity_of_a_constant_batch_is_zero_and_of_a_varied_one_about_one():
    real = torch.rand(64, 3, 16, 16) * 2 - 1
    constant = real[:1].expand(64, -1, -1, -1)
    assert pixel_spread(constant) == 0.0
    assert diversity(constant, real) == 0.0
    assert diversity(torch.rand(64, 3, 16, 16) * 2 - 1, real) == pytest.approx(1.0, abs=0.05)


def test_collapse_watch_warns_once_after_patience_and_only_after_start():
    real = torch.rand(64, 1, 8, 8)
    watch = CollapseWatch(real, threshold=0.25, patience=2, start=100)
    flat = torch.zeros(64, 1, 8, 8)
    assert watch.check(flat, 50) is None  # too early to judge
    assert watch.check(flat, 100) is None  # first low value
    line = watch.check(flat, 110)
    assert line is not None and line.startswith("ganforge: warning: G seems collapsed at step 110")
    assert "\n" not in line and "lr_d" in line
    assert watch.check(flat, 120) is None  # once


class _StandIn(nn.Module):
    """A generator that ignores z (``varied=False``) or maps it through a fixed random layer."""

    def __init__(self, z_dim: int, shape: tuple[int, int, int], varied: bool):
        super().__init__()
        self.shape, self.varied = shape, varied
        self.map = nn.Linear(z_dim, shape[0] * shape[1] * shape[2])
        self.bias = nn.Parameter(torch.zeros(shape))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.varied:
            return torch.tanh(2 * self.map(z)).view(z.shape[0], *self.shape) + 0 * self.bias
        return torch.tanh(self.bias).expand(z.shape[0], *self.shape) + 0 * z.sum()


@pytest.mark.parametrize("varied", [False, True])
def test_training_warns_when_g_is_collapsed_and_not_when_it_varies(tmp_path, capsys, varied):
    folder = make_shapes(tmp_path / "shapes", n=32, size=8)
    cfg = Config(
        arch="dcgan",
        dataset=f"folder:{folder}",
        image_size=8,
        channels=3,
        g_width=8,
        d_width=8,
        batch_size=16,
        steps=120,
        sample_every=10,
        report=False,
        checkpoint_minutes=0,
    )
    t = Trainer(cfg, tmp_path / "run", progress=False, hooks=view_hooks(cfg))
    t.game.G = _StandIn(cfg.z_dim, (3, 8, 8), varied)
    t.run()
    err = capsys.readouterr().err
    warnings = [ln for ln in err.splitlines() if "G seems collapsed" in ln]
    assert len(warnings) == (0 if varied else 1)
    if not varied:
        assert "step 110" in warnings[0]
