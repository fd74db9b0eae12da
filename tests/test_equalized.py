"""The equalised-lr layers, pixel norm and minibatch stddev of models/equalized.py."""

from __future__ import annotations

import math

import pytest
import torch

from ganforge.models.equalized import EqualConv2d, EqualLinear, MinibatchStdDev, PixelNorm


def test_equal_linear_scales_n01_weights_by_he_constant_and_lr_mul():
    layer = EqualLinear(16, 4, lr_mul=0.01, bias_init=1.0)
    assert layer.scale == pytest.approx(0.01 * math.sqrt(2) / 4)
    # stored weights are N(0,1)/lr_mul: the effective weight is N(0, 2/fan_in)
    effective = layer.weight * layer.scale
    assert effective.std().item() == pytest.approx(math.sqrt(2 / 16), rel=0.15)
    x = torch.randn(3, 16)
    expected = x @ effective.T + 1.0
    assert torch.allclose(layer(x), expected, atol=1e-5)


def test_equal_linear_lr_mul_slows_the_effective_update():
    """A step of size s on the stored weight moves the effective weight by s * scale: with
    lr_mul = 0.01 the mapping network learns 100x slower than at lr_mul = 1."""
    slow, fast = EqualLinear(8, 8, lr_mul=0.01), EqualLinear(8, 8, lr_mul=1.0)
    assert slow.scale / fast.scale == pytest.approx(0.01)


def test_equal_conv_scale_is_gain_over_sqrt_fan_in():
    conv = EqualConv2d(3, 5, 3, padding=1)
    assert conv.scale == pytest.approx(math.sqrt(2) / math.sqrt(27))
    assert conv(torch.randn(2, 3, 8, 8)).shape == (2, 5, 8, 8)


def test_pixel_norm_gives_unit_mean_square_over_channels():
    y = PixelNorm()(torch.randn(2, 6, 4, 4) * 5)
    assert torch.allclose(y.pow(2).mean(dim=1), torch.ones(2, 4, 4), atol=1e-4)


def test_minibatch_stddev_shape_and_value_on_a_known_batch():
    # batch of 4 in one group: features of sample i are all equal to i -> std over the group
    # of every feature = population std of (0, 1, 2, 3) = sqrt(1.25)
    x = torch.arange(4.0).reshape(4, 1, 1, 1).expand(4, 2, 3, 3).contiguous()
    y = MinibatchStdDev(group=4)(x)
    assert y.shape == (4, 3, 3, 3)
    assert torch.allclose(y[:, :2], x)
    assert torch.allclose(y[:, 2], torch.full((4, 3, 3), math.sqrt(1.25)), atol=1e-4)


def test_minibatch_stddev_groups_are_strided_as_the_reference():
    # batch 8, group 4: groups are samples {0,2,4,6} and {1,3,5,7}
    values = torch.tensor([0.0, 10.0, 0.0, 10.0, 2.0, 10.0, 2.0, 10.0])
    x = values.reshape(8, 1, 1, 1)
    y = MinibatchStdDev(group=4)(x)[:, 1, 0, 0]
    assert torch.allclose(y[0::2], torch.ones(4), atol=1e-3)  # std of (0, 0, 2, 2) = 1
    assert torch.allclose(y[1::2], torch.zeros(4), atol=1e-3)
