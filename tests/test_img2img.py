"""pix2pix and CycleGAN: models, losses, pool, datasets, recipes, translate."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from ganforge.data import load_dataset
from ganforge.data.paired import edge_map, load_paired, load_unpaired
from ganforge.errors import DataError
from ganforge.games.cyclegan import cycle_loss, linear_decay
from ganforge.games.translation import ImagePool, UnpairedBatches
from ganforge.metrics.translation import psnr, ssim
from ganforge.models.patchgan import PatchDiscriminator, patch_layers_for, receptive_field
from ganforge.models.unet import SUPPORTED_SIZES, UNetGenerator
from ganforge.training import checkpoint as ckpt
from robust_util import TINY


# -- models -----------------------------------------------------------------------------------
@pytest.mark.parametrize("size", SUPPORTED_SIZES)
@pytest.mark.parametrize("norm", ["batch", "instance"])
def test_unet_output_shape_equals_input(size, norm):
    torch.manual_seed(0)
    g = UNetGenerator(3, 3, size, width=4, norm=norm)
    x = torch.rand(2, 3, size, size) * 2 - 1
    y = g(x)
    assert y.shape == x.shape
    assert y.abs().max() <= 1.0
    assert g.depth == {28: 5, 32: 5, 64: 6, 128: 7, 256: 8}[size]


def test_unet_skip_connections_reach_the_output():
    # a change of one input pixel must change the output near it through the outer skip
    torch.manual_seed(0)
    g = UNetGenerator(1, 1, 32, width=4, norm="none", dropout=0.0)
    x = torch.randn(1, 1, 32, 32, requires_grad=True)
    g(x)[0, 0, 5, 5].backward()
    assert x.grad[0, 0, 4:7, 4:7].abs().sum() > 0


def test_patchgan_receptive_field_is_70_at_256():
    d = PatchDiscriminator(6, width=4, n_layers=patch_layers_for(256))
    assert receptive_field(d) == 70
    assert d(torch.randn(1, 6, 256, 256)).shape == (1, 1, 30, 30)
    assert receptive_field(PatchDiscriminator(2, 4, patch_layers_for(64))) == 34
    assert receptive_field(PatchDiscriminator(2, 4, patch_layers_for(28))) == 16


def test_patchgan_receptive_field_matches_gradient_support():
    # the input pixels that move one central output logit span exactly the computed field
    torch.manual_seed(0)
    d = PatchDiscriminator(1, width=2, n_layers=3, norm="none")
    x = torch.randn(1, 1, 160, 160, requires_grad=True)
    out = d(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = (x.grad[0, 0].abs().sum(1) > 0).nonzero().flatten()
    assert int(rows.max() - rows.min() + 1) == receptive_field(d) == 70


# -- losses, pool, schedule ---------------------------------------------------------------------
def test_cycle_loss_zero_for_identity_generators():
    x, y = torch.rand(4, 1, 8, 8), torch.rand(4, 1, 8, 8)
    assert cycle_loss(nn.Identity(), nn.Identity(), x, y).item() == 0.0
    half = cycle_loss(lambda t: 0.5 * t, nn.Identity(), x, y)
    expected = (0.5 * x - x).abs().mean() + (0.5 * y - y).abs().mean()
    assert torch.isclose(half, expected)


def test_image_pool_returns_past_images_half_the_time_once_full():
    pool = ImagePool(50, seed=123)
    first = torch.arange(50.0).view(50, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # filling: every image comes back as is
    n, past = 4000, 0
    for i in range(n):
        new = torch.full((1, 1, 1, 1), 1000.0 + i)
        out = pool.query(new)
        if out.item() != new.item():
            past += 1
            assert out.item() < 1000.0 + i  # a stored, earlier image
    share = past / n
    assert abs(share - 0.5) < 3 * (0.25 / n) ** 0.5 + 0.005, share
    assert len(pool.images) == 50


def test_image_pool_size_zero_passes_through():
    x = torch.randn(3, 1, 2, 2)
    assert ImagePool(0).query(x) is x


def test_linear_decay_schedule():
    assert linear_decay(0.2, 0.5) == 1.0
    assert linear_decay(0.5, 0.5) == 1.0
    assert linear_decay(0.75, 0.5) == pytest.approx(0.5)
    assert linear_decay(1.0, 0.5) == 0.0


# -- metrics -------------------------------------------------------------------------------------
def test_psnr_and_ssim_match_their_definitions():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 28, 28)
    y = (x + 0.1 * torch.randn_like(x)).clamp(0, 1)
    mse = (x - y).pow(2).flatten(1).mean(1)
    assert torch.allclose(psnr(x, y), 10 * torch.log10(1 / mse.double()))
    assert torch.allclose(ssim(x, x), torch.ones(4, dtype=torch.float64))
    # constant images: variances vanish, SSIM = (2ab + C1) / (a^2 + b^2 + C1)
    a, b, c1 = 0.2, 0.7, 0.01**2
    got = ssim(torch.full((1, 1, 16, 16), a), torch.full((1, 1, 16, 16), b))
    assert got.item() == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1))
    noisier = (x + 0.3 * torch.randn_like(x)).clamp(0, 1)
    assert (ssim(noisier, x) < ssim(y, x)).all() and (ssim(y, x) < 1).all()


# -- datasets ------------------------------------------------------------------------------------
def _png(path, w, h, value=128, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((h, w), value, dtype=np.uint8), mode).save(path)


def test_paired_folders_refuse_file_without_partner(tmp_path):
    _png(tmp_path / "A" / "x.png", 8, 8)
    _png(tmp_path / "B" / "x.png", 8, 8)
    _png(tmp_path / "A" / "only_a.png", 8, 8)
    with pytest.raises(DataError, match=r"only_a\.png has no partner in .*B"):
        load_paired(str(tmp_path), image_size=8, channels=1)
    (tmp_path / "A" / "only_a.png").unlink()
    _png(tmp_path / "B" / "only_b.jpg", 8, 8)
    with pytest.raises(DataError, match=r"only_b\.jpg has no partner in .*A"):
        load_paired(str(tmp_path), image_size=8, channels=1)


def test_paired_folders_and_side_by_side_load(tmp_path):
    _png(tmp_path / "f" / "A" / "1.png", 8, 8, 10)
    _png(tmp_path / "f" / "B" / "1.png", 8, 8, 200)
    d = load_paired(str(tmp_path / "f"), image_size=8, channels=1)
    assert d.images.shape == (1, 2, 8, 8)
    assert d.a.unique().tolist() == [10] and d.b.unique().tolist() == [200]
    arr = np.concatenate([np.full((8, 8), 30, np.uint8), np.full((8, 8), 220, np.uint8)], 1)
    (tmp_path / "s" / "train").mkdir(parents=True)
    Image.fromarray(arr).save(tmp_path / "s" / "train" / "p.png")
    d = load_paired(str(tmp_path / "s"), image_size=8, channels=1)
    assert d.a.unique().tolist() == [30] and d.b.unique().tolist() == [220]
    with pytest.raises(DataError, match="no test split"):
        load_paired(str(tmp_path / "s"), split="test", image_size=8, channels=1)


def test_side_by_side_refuses_odd_width_with_file_named(tmp_path):
    _png(tmp_path / "bad.png", 9, 8)
    with pytest.raises(DataError, match=r"bad\.png is 9x8"):
        load_paired(str(tmp_path), image_size=8, channels=1)


def test_unpaired_refuses_missing_domain_with_folder_named(tmp_path):
    _png(tmp_path / "trainA" / "a.png", 8, 8)
    with pytest.raises(DataError, match="no trainB/ folder to match trainA/"):
        load_unpaired(str(tmp_path), image_size=8, channels=1)
    _png(tmp_path / "trainB" / "b1.png", 8, 8)
    _png(tmp_path / "trainB" / "b2.png", 8, 8)
    d = load_dataset(f"unpaired:{tmp_path}", image_size=8, channels=1)
    assert d.images.shape == (1, 1, 8, 8) and d.images_b.shape == (2, 1, 8, 8)
    with pytest.raises(DataError, match="no testA/ folder"):
        load_dataset(f"unpaired:{tmp_path}", split="test", image_size=8, channels=1)


def test_fmnist_tasks():
    pairs = load_dataset("fmnist-edges2items", "test")
    assert pairs.images.shape == (10000, 2, 28, 28)
    edges = pairs.images[:, :1]
    assert set(edges.unique().tolist()) == {0, 255}
    assert torch.equal(edges[:50], edge_map(pairs.images[:50, 1:]))
    unp = load_dataset("fmnist-sneaker2boot", "test", image_size=32)
    assert unp.images.shape == (1000, 1, 32, 32) and unp.images_b.shape == (1000, 1, 32, 32)
    assert (unp.class_a, unp.class_b) == (7, 9)


def test_unpaired_batches_resume_exactly():
    from ganforge.data.paired import UnpairedData

    data = UnpairedData(
        "t",
        torch.arange(40, dtype=torch.uint8).view(40, 1, 1, 1),
        images_b=torch.arange(100, 130, dtype=torch.uint8).view(30, 1, 1, 1),
    )
    it = UnpairedBatches(data, 4, 0, "cpu")
    for _ in range(13):
        next(it)
    state = json.loads(json.dumps(it.state_dict()))
    expected = [next(it) for _ in range(5)]
    again = UnpairedBatches(data, 4, 0, "cpu")
    again.load_state_dict(state)
    for (ea, eb), (ga, gb) in zip(expected, [next(again) for _ in range(5)], strict=True):
        assert torch.equal(ea, ga) and torch.equal(eb, gb)
    assert not torch.equal(expected[0][0], expected[0][1] - 100)  # independent orders


# -- recipes end to end ----------------------------------------------------------------------------
def test_pix2pix_recipe_trains_translates_and_scores(cli, tmp_path):
    run = tmp_path / "p"
    rc, out, err = cli("train", "pix2pix", "--out", run, "--steps", "3", *TINY, "--json")
    assert rc == 0, err
    assert json.loads(out.splitlines()[-1])["steps"] == 3
    line = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"l1", "g_adv", "d_real", "d_fake"} <= set(line)
    assert Image.open(run / "samples.png").size == (8 * 30 + 2, 6 * 30 + 2)  # 6 rows of 28 px
    _png(tmp_path / "in" / "e1.png", 28, 28, 0)
    _png(tmp_path / "in" / "sub" / "e2.png", 40, 40, 255)
    rc, out, err = cli("translate", run, "--input", tmp_path / "in", "--out", tmp_path / "o")
    assert rc == 0, err
    assert Image.open(tmp_path / "o" / "e1.png").size == (28, 28)
    assert (tmp_path / "o" / "sub" / "e2.png").is_file()
    rc, out, err = cli("translate", run, "--eval", "--n", "64")
    assert rc == 0, err
    scores = json.loads(out.splitlines()[-1])
    assert scores["test_images"] == 64
    assert 0 <= scores["model"]["l1"] <= 1 and scores["blank_baseline"]["psnr"] > 0
    rc, _, err = cli(
        "translate", run, "--input", tmp_path / "in", "--out", tmp_path / "o", "--direction", "BtoA"
    )
    assert rc == 2 and "translates A to B only" in err
    rc, _, err = cli("sample", run)
    assert rc == 2 and "ganforge translate" in err


def test_cyclegan_recipe_trains_with_lr_decay_and_translates(cli, tmp_path):
    from ganforge import api
    from ganforge.metrics.translation import evaluate_run

    run = tmp_path / "c"
    rc, out, err = cli("train", "cyclegan", "--out", run, "--steps", "4", *TINY, "--json")
    assert rc == 0, err
    line = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"cycle", "identity", "g_adv", "d_a", "d_b"} <= set(line)
    state = ckpt.load_checkpoint(ckpt.latest_checkpoint(run / "checkpoints"))
    # last step ran at progress 3/4: lr = 2e-4 * (1 - 0.75) / 0.5
    assert state["optim"]["g"]["param_groups"][0]["lr"] == pytest.approx(1e-4)
    assert state["optim"]["d"]["param_groups"][0]["lr"] == pytest.approx(1e-4)
    _png(tmp_path / "boot.png", 28, 28, 90)
    rc, out, err = cli(
        "translate",
        run,
        "--input",
        tmp_path / "boot.png",
        "--out",
        tmp_path / "o",
        "--direction",
        "BtoA",
    )
    assert rc == 0 and (tmp_path / "o" / "boot.png").is_file(), err
    loaded = api.load_run(run)

    def always_boot(x):
        return torch.nn.functional.one_hot(torch.full((x.shape[0],), 9), 10).float()

    scores = evaluate_run(loaded, n=32, classifier=always_boot)
    assert scores["target_class_accuracy"] == {"AtoB": 1.0, "BtoA": 0.0}
    assert 0 < scores["cycle_l1"]["A"] < 1 and scores["cycle_l1_pm1"]["A"] > scores["cycle_l1"]["A"]


def test_cyclegan_generator_adversarial_term_is_not_halved():
    """Zhu et al. 2017 (and their MSE-against-1 code): L_GAN(G) = E[(D_Y(G(x)) - 1)^2] with no
    1/2, so that cycle 10 / identity 5 are the effective weights (issue 16.2)."""
    from ganforge.games.cyclegan import CycleGANGame
    from ganforge.recipes import get_recipe

    cfg = get_recipe("cyclegan").config(g_width=4, d_width=4, cycle_weight=0.0)
    game = CycleGANGame(cfg, (1, 16, 16))
    torch.manual_seed(0)
    u8 = torch.randint(0, 256, (2, 2, 1, 16, 16), dtype=torch.uint8)
    loss, _ = game.g_loss((u8[0], u8[1]), 0)
    a, b = game._unit(u8[0]), game._unit(u8[1])
    with torch.no_grad():
        d_b = game.D["B"](game.G["AB"](a)).flatten()
        d_a = game.D["A"](game.G["BA"](b)).flatten()
    expected = ((d_b - 1) ** 2).mean() + ((d_a - 1) ** 2).mean()
    torch.testing.assert_close(loss.detach(), expected)


def test_translate_errors(cli, tmp_path):
    rc, _, err = cli("translate", tmp_path / "nope", "--eval")
    assert rc == 2 and err.startswith("ganforge: error:")
    rc, _, err = cli("translate", tmp_path)
    assert rc == 2 and "--input FILE|DIR and --out DIR" in err


def test_cyclegan_resume_continues_the_data_order(cli, tmp_path):
    run = tmp_path / "c"
    rc, _, err = cli("train", "cyclegan", "--out", run, "--steps", "2", *TINY)
    assert rc == 0, err
    rc, _, err = cli("train", "--resume", run, "--steps", "3", "--json")
    assert rc == 0, err
    state = ckpt.load_checkpoint(ckpt.latest_checkpoint(run / "checkpoints"))
    assert state["step"] == 3
    assert state["batches"] == {"a": {"epoch": 0, "index": 3}, "b": {"epoch": 0, "index": 3}}


@pytest.mark.parametrize("size", [28, 32, 64])
def test_resnet_translator_keeps_shape(size):
    from ganforge.models.resnet_translator import ResnetTranslator

    g = ResnetTranslator(1, 1, width=4, norm="instance", blocks=2)
    x = torch.rand(2, 1, size, size) * 2 - 1
    assert g(x).shape == x.shape
