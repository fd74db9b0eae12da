"""Inpainting (context encoder, Pathak et al. 2016): masks, the weighted reconstruction loss,
the composite output, the model, the recipe end to end, translate --mask and --eval."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.config import Config
from ganforge.data import load_dataset
from ganforge.data.masks import block_masks, center_mask, draw_masks, load_mask, region_masks
from ganforge.errors import ConfigError, DataError
from ganforge.games.inpaint import (
    InpaintGame,
    composite,
    overlap_px,
    reconstruction_loss,
    weight_map,
)
from ganforge.metrics.inpaint_eval import hole_psnr, mean_fill
from ganforge.models.context_encoder import ChannelwiseFC, ContextEncoder
from ganforge.recipes import get_recipe
from ganforge.training import checkpoint as ckpt
from robust_util import write_png

SMALL = ["--set", "g_width=4", "--set", "d_width=4", "--batch-size", "8"]
SMALL += ["--set", "report=false", "--set", "threads=1"]


def _cfg(**kw):
    return get_recipe("inpaint").config(g_width=4, d_width=4, **kw)


# -- masks ------------------------------------------------------------------------------------
def test_center_mask_is_the_central_quarter():
    m = center_mask(16)
    assert m.shape == (1, 1, 16, 16) and m.sum() == 64
    assert m[0, 0, 4:12, 4:12].all() and m[0, 0, :4].sum() == 0 and m[0, 0, 12:].sum() == 0
    assert center_mask(28).sum() == 14 * 14


def test_random_masks_cover_at_most_a_quarter_and_follow_the_seed():
    blocks = block_masks(200, 28, torch.Generator().manual_seed(0))
    share = blocks.flatten(1).mean(1)
    assert (share <= 0.25).all() and (share >= 7 * 7 / 784).all()  # 4 squares of side 7
    assert share.max() == 0.25 and share.min() < 0.25  # some overlap, some not
    region = region_masks(50, 28, torch.Generator().manual_seed(0))
    assert (region.flatten(1).sum(1) == 28 * 28 // 4).all()
    again = draw_masks("region", 50, 28, torch.Generator().manual_seed(0))
    assert torch.equal(region, again)
    assert not torch.equal(region[0], region[1])


# -- the loss ---------------------------------------------------------------------------------
def test_weight_map_by_value_hole_one_band_ten_rest_zero():
    m = center_mask(16)  # hole rows/cols 4..11
    w = weight_map(m, band=1, band_weight=10.0)[0, 0]
    assert w[4:12, 4:12].eq(1).all()
    assert w[3, 3:13].eq(10).all() and w[12, 3:13].eq(10).all()
    assert w[3:13, 3].eq(10).all() and w[3:13, 12].eq(10).all()
    outside = torch.ones(16, 16, dtype=torch.bool)
    outside[3:13, 3:13] = False
    assert w[outside].eq(0).all()
    assert (w == 10).sum() == 10 * 10 - 8 * 8
    assert overlap_px(128) == 4 and overlap_px(28) == 1 and overlap_px(64) == 2
    assert overlap_px(28, 3) == 3


def test_reconstruction_loss_weighs_only_hole_and_band():
    m = center_mask(16)
    w = weight_map(m, 1, 10.0)
    target = torch.zeros(1, 1, 16, 16)
    region = 10 * 10  # hole 8x8 + band ring: the mean is over these pixels
    outside = target.clone()
    outside[..., 0, 0] = 5.0  # an error outside the region does not count
    assert reconstruction_loss(outside, target, w).item() == 0.0
    in_hole = target.clone()
    in_hole[..., 8, 8] = 1.0
    assert reconstruction_loss(in_hole, target, w).item() == pytest.approx(1.0 / region)
    in_band = target.clone()
    in_band[..., 3, 8] = 1.0
    assert reconstruction_loss(in_band, target, w).item() == pytest.approx(10.0 / region)
    in_band[..., 3, 8] = -2.0
    assert reconstruction_loss(in_band, target, w, "l1").item() == pytest.approx(20.0 / region)


def test_generator_loss_is_0999_reconstruction_plus_0001_adversarial():
    cfg = _cfg()
    assert (cfg.inpaint_rec_weight, cfg.inpaint_adv_weight) == (0.999, 0.001)
    assert cfg.inpaint_overlap_weight == 10.0 and cfg.inpaint_rec_loss == "l2"
    torch.manual_seed(0)
    game = InpaintGame(cfg, (1, 16, 16))
    u8 = torch.randint(0, 256, (4, 1, 16, 16), dtype=torch.uint8)
    d = game.d_loss((u8, None), 0)
    loss, logs = game.g_loss((u8, None), 0, d.fakes)
    assert logs["rec"] > 0 and logs["g_adv"] > 0
    expected = 0.999 * logs["rec"] + 0.001 * logs["g_adv"]
    torch.testing.assert_close(loss.detach(), expected)
    x, mask, pred, _ = d.fakes
    rec = reconstruction_loss(pred, x, weight_map(mask, 1, 10.0))
    torch.testing.assert_close(logs["rec"], rec.detach())
    base = get_recipe("inpaint-l1").config()
    assert (base.inpaint_adv_weight, base.inpaint_rec_loss) == (0.0, "l1")


def test_known_pixels_are_kept_exactly():
    torch.manual_seed(0)
    game = InpaintGame(_cfg(inpaint_mask="region"), (1, 16, 16)).eval()
    x = torch.rand(5, 1, 16, 16) * 2 - 1
    mask = region_masks(5, 16, torch.Generator().manual_seed(1))
    y = game.fill(x, mask)
    known = mask.expand_as(x) < 0.5
    assert torch.equal(y[known], x[known])
    pred = game.predict(game.G, x, mask)
    assert torch.equal(y[~known], pred[~known])
    assert torch.equal(composite(x, torch.full_like(x, float("nan")), mask)[known], x[known])
    # G never sees the hole's content: changing it leaves the fill unchanged
    x2 = torch.where(known, x, torch.rand_like(x))
    assert torch.equal(game.fill(x2, mask)[~known], y[~known])


# -- the model ----------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [8, 16, 28, 32, 64])
def test_context_encoder_keeps_shape(size):
    g = ContextEncoder(2, 1, size, width=4)
    y = g(torch.rand(2, 2, size, size) * 2 - 1)
    assert y.shape == (2, 1, size, size) and y.abs().max() <= 1
    assert g.padded // 2**g.levels == 4


def test_channelwise_fc_connects_within_a_channel_only():
    fc = ChannelwiseFC(3, 4)
    assert fc.weight.shape == (3, 16, 16)
    x = torch.randn(1, 3, 4, 4, requires_grad=True)
    fc(x)[0, 1, 2, 3].backward()
    assert x.grad[0, 1].abs().gt(0).all()  # the whole 4x4 map of its own channel
    assert x.grad[0, 0].eq(0).all() and x.grad[0, 2].eq(0).all()


def test_config_refuses_inpaint_without_context_encoder_and_idle_keys():
    with pytest.raises(ConfigError, match="game=inpaint needs arch=context-encoder"):
        _cfg(arch="dcgan")
    with pytest.raises(ConfigError, match="'inpaint_mask' has no effect here"):
        Config().with_overrides({"inpaint_mask": "block"})
    with pytest.raises(ConfigError, match="both 0"):
        _cfg(inpaint_rec_weight=0.0, inpaint_adv_weight=0.0)


# -- end to end -----------------------------------------------------------------------------------
def test_recipe_trains_writes_report_translates_and_scores(cli, tmp_path):
    run = tmp_path / "r"
    args = ["train", "inpaint", "--steps", "3", *SMALL, "--set", "report=true"]
    rc, _, err = cli(*args, "--out", run)
    assert rc == 0, err
    line = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"rec", "g_adv", "d_real", "d_fake"} <= set(line)
    assert "context encoder" in (run / "report.html").read_text()
    assert Image.open(run / "samples.png").size == (8 * 30 + 2, 6 * 30 + 2)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (28, 28))
    write_png(tmp_path / "in" / "a.png", image)
    hole = np.zeros((28, 28))
    hole[3:9, 5:20] = 255
    write_png(tmp_path / "mask.png", hole)
    rc, out, err = cli("translate", run, "--input", tmp_path / "in", "--out", tmp_path / "o")
    assert rc == 0, err
    filled = np.asarray(Image.open(tmp_path / "o" / "a.png"))
    centre = center_mask(28)[0, 0].numpy() > 0
    assert np.array_equal(filled[~centre], image[~centre])
    rc, _, err = cli(
        "translate", run, "--input", tmp_path / "in", "--out", tmp_path / "m", "--mask",
        tmp_path / "mask.png",
    )  # fmt: skip
    assert rc == 0, err
    filled = np.asarray(Image.open(tmp_path / "m" / "a.png"))
    assert np.array_equal(filled[hole == 0], image[hole == 0])
    assert not np.array_equal(filled[hole > 0], image[hole > 0])
    rc, out, err = cli("translate", run, "--eval", "--n", "64", "--baseline", run)
    assert rc == 0, err
    scores = json.loads(out.splitlines()[-1])
    assert scores["test_images"] == 64 and scores["hole_fraction"] == 0.25
    assert scores["baseline_run"]["psnr_hole"] == scores["model"]["psnr_hole"]
    assert scores["fd"]["model"] > 0 and scores["fd"]["extractor"] == "fashion-mnist"
    # the mean-fill baseline: the training mean image in the hole
    test = load_dataset("fmnist-inpaint", "test").images[:64].float() / 255
    mean = load_dataset("fmnist-inpaint", "train").images.double().mean(0, keepdim=True) / 255
    m = center_mask(28).expand(64, -1, -1, -1)
    base = mean_fill(test, m, mean.float())
    assert torch.equal(base[m < 0.5], test[m < 0.5])
    assert torch.equal(base[0][m[0] > 0.5], mean.float()[0][m[0] > 0.5])
    expected = float(hole_psnr(base, test, m).mean())
    assert scores["mean_fill_baseline"]["psnr_hole"] == pytest.approx(expected, rel=1e-6)
    rc, _, err = cli("sample", run)
    assert rc == 2 and "ganforge translate" in err


def test_wrong_mask_shape_and_wrong_image_size_are_one_line_errors(cli, tmp_path):
    run = tmp_path / "r"
    rc, _, err = cli("train", "inpaint", "--steps", "1", *SMALL, "--out", run)
    assert rc == 0, err
    write_png(tmp_path / "in" / "a.png", np.zeros((28, 28)))
    write_png(tmp_path / "big.png", np.zeros((40, 40)))
    write_png(tmp_path / "mask.png", np.full((20, 20), 255))
    write_png(tmp_path / "empty.png", np.zeros((28, 28)))
    cases = [
        (
            ["--input", tmp_path / "in", "--mask", tmp_path / "mask.png"],
            "is 20x20: it must be 28x28",
        ),
        (["--input", tmp_path / "in", "--mask", tmp_path / "empty.png"], "no white (hole) pixels"),
        (["--input", tmp_path / "big.png"], "big.png is 40x40: this inpainting run fills 28x28"),
        (["--eval", "--mask", tmp_path / "mask.png"], "--mask goes with --input"),
    ]
    for extra, text in cases:
        out = ["--out", tmp_path / "o"] if "--input" in extra else []
        rc, _, err = cli("translate", run, *extra, *out)
        assert rc == 2 and text in err, err
        assert err.count("\n") == 1 and err.startswith("ganforge: error:")
    with pytest.raises(DataError, match="is 20x20"):
        load_mask(tmp_path / "mask.png", 28)


def test_random_mask_run_resumes_byte_identical(cli, tmp_path):
    run = tmp_path / "run"
    args = ["train", "inpaint", "--steps", "6", "--seed", "3", *SMALL]
    args += ["--set", "inpaint_mask=region", "--set", "checkpoint_every=3"]
    args += ["--set", "checkpoint_minutes=0", "--set", "keep_checkpoints=5"]
    rc, _, err = cli(*args, "--out", run)
    assert rc == 0, err
    cut = tmp_path / "cut"
    shutil.copytree(run, cut)
    ckpt.step_path(cut / "checkpoints", 6).unlink()
    rc, _, err = cli("train", "--resume", cut)
    assert rc == 0, err
    a = ckpt.step_path(run / "checkpoints", 6).read_bytes()
    assert a == ckpt.step_path(cut / "checkpoints", 6).read_bytes()
