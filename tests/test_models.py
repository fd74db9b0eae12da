import pytest
import torch
from torch import nn

from ganforge.models import build_discriminator, build_generator
from ganforge.models.dcgan import stages_for
from ganforge.recipes import get_recipe


@pytest.mark.parametrize(("size", "channels"), [(28, 1), (32, 3), (64, 3), (8, 1)])
def test_dcgan_shapes_follow_the_image_size(size, channels):
    cfg = get_recipe("dcgan").config(g_width=8, d_width=8)
    G = build_generator(cfg, 100, (channels, size, size))
    D = build_discriminator(cfg, (channels, size, size))
    x = G(torch.randn(4, 100))
    assert x.shape == (4, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1  # tanh output
    assert D(x).shape == (4,)


def test_stage_rule():
    assert stages_for(28) == (2, 7)
    assert stages_for(32) == (3, 4)
    assert stages_for(64) == (4, 4)


def test_gan_recipe_is_the_notes_mlp_with_sane_batchnorm():
    cfg = get_recipe("gan").config()
    G = build_generator(cfg, 100, (1, 28, 28))
    D = build_discriminator(cfg, (1, 28, 28))
    g_lin = [m.out_features for m in G.modules() if isinstance(m, nn.Linear)]
    d_lin = [m.out_features for m in D.modules() if isinstance(m, nn.Linear)]
    assert g_lin == [128, 256, 512, 784]
    assert d_lin == [512, 256, 1]
    bns = [m for m in G.modules() if isinstance(m, nn.BatchNorm1d)]
    assert [b.num_features for b in bns] == [256, 512]
    assert all(b.eps == 1e-5 for b in bns)  # not the tutorials' eps=0.8
    assert not any(isinstance(m, nn.Sigmoid) for m in D.modules())  # logits


def test_dcgan_init_is_normal_0_02():
    torch.manual_seed(0)
    cfg = get_recipe("dcgan").config()
    G = build_generator(cfg, 100, (1, 28, 28))
    convs = [m.weight for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    stds = torch.cat([w.flatten() for w in convs]).std().item()
    assert stds == pytest.approx(0.02, rel=0.05)
    bn = [m for m in G.modules() if isinstance(m, nn.BatchNorm2d)][0]
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=0.01)
