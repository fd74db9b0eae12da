"""Super-resolution (SRResNet / SRGAN, Ledig et al. 2017): models, losses, data, recipes,
resume, report, `translate --eval` and `upscale`."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from ganforge.api import make_config
from ganforge.data import load_dataset
from ganforge.data.superres import bicubic_upscale, downscale, scale_of
from ganforge.errors import ConfigError, DataError
from ganforge.games import build_game
from ganforge.metrics.superres_eval import sr_scores
from ganforge.metrics.translation import psnr
from ganforge.models.srresnet import SRDiscriminator, SRResNet, stride_convs_for
from ganforge.penalties import gradient_penalty
from ganforge.superres_hooks import content_features
from ganforge.training import checkpoint as ckpt

# tiny runs: 1 residual block, widths 4-8, batch 4, 16 px targets (4 px inputs at x4)
TINY = ["--set", "g_width=8", "--set", "sr_blocks=1", "--batch-size", "4"]
TINY_D = ["--set", "d_width=4"]
QUIET = ["--set", "report=false", "--set", "sample_every=1000"]


def _game(recipe: str = "srgan", size: int = 16, **over):
    cfg = make_config(recipe, {"g_width": 8, "sr_blocks": 1, "image_size": size, **over})
    torch.manual_seed(0)
    return build_game(cfg, (1, size, size), 0)


def _batch(n: int = 4, size: int = 16, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 256, (n, 1, size, size), generator=gen, dtype=torch.uint8), None)


# -- models -----------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [2, 4])
def test_subpixel_generator_upscales_any_input_by_its_factor(scale):
    g = SRResNet(3, scale, width=4, blocks=1)
    assert g(torch.zeros(2, 3, 7, 5)).shape == (2, 3, 7 * scale, 5 * scale)
    shuffles = [m for m in g.modules() if isinstance(m, nn.PixelShuffle)]
    assert len(shuffles) == {2: 1, 4: 2}[scale]
    with pytest.raises(ConfigError, match="upscales by 2, 4 or 8"):
        SRResNet(1, 3)


def test_pixel_shuffle_channel_ordering():
    # output channel c at (2i + a, 2j + b) is input channel 4c + 2a + b at (i, j)
    x = torch.arange(2 * 8 * 3 * 3, dtype=torch.float32).view(2, 8, 3, 3)
    y = nn.PixelShuffle(2)(x)
    assert y.shape == (2, 2, 6, 6)
    for c in range(2):
        for a in range(2):
            for b in range(2):
                assert torch.equal(y[:, c, a::2, b::2], x[:, 4 * c + 2 * a + b])


def test_discriminator_is_scaled_to_the_input_size():
    assert [stride_convs_for(s) for s in (8, 16, 28, 64, 96, 256)] == [1, 2, 2, 4, 4, 4]
    d = SRDiscriminator(1, 28, width=4)
    assert d(torch.zeros(3, 1, 28, 28)).shape == (3,)
    strided = [m for m in d.modules() if isinstance(m, nn.Conv2d) and m.stride == (2, 2)]
    assert len(strided) == 2  # 28 -> 14 -> 7
    assert any(isinstance(m, nn.BatchNorm2d) for m in d.modules())


# -- data -------------------------------------------------------------------------------------
def test_bicubic_downscale_makes_8bit_inputs_of_a_quarter_side():
    y = torch.rand(3, 1, 28, 28) * 2 - 1
    x = downscale(y, 4)
    assert x.shape == (3, 1, 7, 7)
    levels = x.add(1).mul(127.5)
    assert torch.allclose(levels, levels.round(), atol=1e-4)
    flat = torch.full((1, 1, 28, 28), 0.2)
    assert torch.allclose(bicubic_upscale(downscale(flat, 2), 2), flat, atol=1 / 127.5)
    assert [scale_of(n) for n in ("fmnist-sr4", "fmnist-sr2", "sr4:/a", "sr2:b", "mnist")] == [
        4,
        2,
        4,
        2,
        0,
    ]


@pytest.mark.parametrize("dataset, side", [("fmnist-sr4", 7), ("fmnist-sr2", 14)])
def test_builtin_tasks_pair_28px_targets_with_their_downscales(dataset, side):
    game = _game("srresnet", size=28, dataset=dataset)
    x, y = game.pair(_batch(size=28)[0])
    assert x.shape == (4, 1, side, side) and y.shape == (4, 1, 28, 28)
    assert game.G(x).shape == y.shape


def test_sr_folder_needs_a_side_divisible_by_the_factor(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(folder / "a.png")
    data = load_dataset(f"sr4:{folder}", image_size=16)
    assert data.images.shape == (1, 3, 16, 16)
    with pytest.raises(DataError, match="divisible by 4"):
        load_dataset(f"sr4:{folder}", image_size=18)


# -- losses -----------------------------------------------------------------------------------
def test_content_loss_is_zero_for_identical_images_and_positive_otherwise():
    game = _game()
    game.set_features(content_features().forward)
    y = torch.rand(2, 1, 28, 28) * 2 - 1
    assert game.content(y, y.clone()).item() == 0.0
    assert game.content(y.flip(-1), y).item() > 0
    phi = content_features()
    assert phi(y).shape == (2, 96, 7, 7)  # the last block's activation, before its pooling
    rgb = y.expand(2, 3, 28, 28)  # luminance of a gray RGB image is the gray image
    assert torch.allclose(phi(rgb), phi(y), atol=1e-5)


def test_srgan_total_loss_is_content_plus_1e3_adversarial():
    game = _game()
    phi = content_features()
    game.set_features(phi.forward)
    batch = _batch()
    total, logs = game.g_loss(batch, 0)
    x, y = game.pair(batch[0])
    fake = game.G(x)
    content = F.mse_loss(phi(fake), phi(y))
    adv = F.softplus(-game.D(fake)).mean()  # non-saturating: -log D(G(x))
    assert game.cfg.adv_weight == 1e-3
    assert torch.allclose(logs["content"], content) and torch.allclose(logs["g_adv"], adv)
    assert torch.allclose(total, content + 1e-3 * adv)
    assert not torch.allclose(total, content)


def test_srresnet_is_pixel_mse_only():
    game = _game("srresnet")
    batch = _batch()
    total, logs = game.g_loss(batch, 0)
    x, y = game.pair(batch[0])
    assert torch.allclose(total, F.mse_loss(game.G(x), y))
    assert list(game.D.parameters())[0].numel() == 1  # no discriminator: a placeholder
    assert game.d_loss(batch, 0).loss.item() == 0.0


def test_wasserstein_variant_uses_the_gradient_penalty_and_no_batchnorm():
    game = _game(loss="wasserstein", content_loss="mse")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in game.D.modules())
    batch = _batch()
    torch.manual_seed(5)
    step = game.d_loss(batch, 0)
    x, y = game.pair(batch[0])
    fake = game.G(x).detach()
    torch.manual_seed(5)
    gp = gradient_penalty(game.D, y, fake)
    assert gp.item() > 0 and torch.allclose(step.logs["gp"], gp)
    critic = game.D(fake).mean() - game.D(y).mean()
    assert torch.allclose(step.loss, critic + 10.0 * gp, atol=1e-6)
    total, logs = game.g_loss(batch, 0, step.fakes)
    assert torch.allclose(logs["g_adv"], -game.D(step.fakes[2]).mean())


def test_recipes_follow_the_paper():
    base = make_config("srresnet")
    paper = {"sr_blocks": 16, "g_width": 64, "g_norm": "batch", "lr_g": 1e-4, "beta1": 0.9}
    assert {k: getattr(base, k) for k in paper} == {**paper}
    gan = make_config("srgan")
    assert (gan.adv_weight, gan.content_loss, gan.lr_d, gan.loss) == (
        1e-3,
        "features",
        1e-4,
        "non-saturating",
    )
    assert base.dataset == gan.dataset == "fmnist-sr4"


def test_config_refuses_keys_that_cannot_act():
    with pytest.raises(ConfigError, match="'content_loss' has no effect"):
        make_config("srresnet", {"content_loss": "mse"})
    with pytest.raises(ConfigError, match="'sr_gp_weight' has no effect"):
        make_config("srgan", {"sr_gp_weight": 5})
    with pytest.raises(ConfigError, match="'loss' has no effect with game=srresnet"):
        make_config("srresnet", {"loss": "wasserstein"})
    with pytest.raises(ConfigError, match="'adv_weight' has no effect"):
        make_config("pix2pix", {"adv_weight": 0.1})
    for key, value in (("d_norm", "none"), ("lr_d", 1e-3), ("spectral_norm", True)):
        with pytest.raises(ConfigError, match=f"'{key}' has no effect with game=srresnet"):
            make_config("srresnet", {key: value})
    with pytest.raises(ConfigError, match="'eval_every' has no effect with game=srresnet"):
        make_config("srresnet", {"eval_every": 100})
    with pytest.raises(ConfigError, match="'conditioning' has no effect with game=srgan"):
        make_config("srgan", {"conditioning": "concat"})
    with pytest.raises(ConfigError, match="needs arch=srresnet"):
        make_config("srgan", {"arch": "dcgan"})
    cfg = make_config("srgan", {"dataset": "fashion-mnist"})
    with pytest.raises(DataError, match="needs a super-resolution dataset"):
        build_game(cfg, (1, 28, 28), 0)


# -- metrics ----------------------------------------------------------------------------------
def test_scores_put_the_model_beside_the_bicubic_baseline():
    y = torch.rand(4, 1, 28, 28) * 2 - 1
    bic = bicubic_upscale(downscale(y, 4), 4)
    feats = lambda t: t.flatten(1)[:, :6].double()  # noqa: E731 - any features will do
    out = sr_scores(y.clone(), bic, y, feats)
    expected = float(psnr(bic.add(1).div(2), y.add(1).div(2)).mean())
    assert out["bicubic_baseline"]["psnr"] == pytest.approx(expected)
    assert out["model"]["ssim"] == pytest.approx(1.0) and out["model"]["fd"] == pytest.approx(0)
    assert out["bicubic_baseline"]["fd"] > 0 and out["model"]["psnr"] > 100


# -- end to end -------------------------------------------------------------------------------
def test_srresnet_then_srgan_from_it_report_eval_and_upscale(cli, tmp_path):
    base = tmp_path / "srresnet"
    args = ["train", "srresnet", "--steps", "3", *TINY, "--out", base]
    rc, _, err = cli(*args, "--set", "sample_every=1000")
    assert rc == 0, err
    assert (base / "report.html").stat().st_size > 1000  # the report page
    assert (base / "samples.png").is_file()
    run = tmp_path / "srgan"  # lr_g 0: G stays the srresnet's G it started from
    rc, _, err = cli(
        "train", "srgan", "--steps", "1", *TINY, *TINY_D, *QUIET, "--set", "lr_g=0",
        "--set", f"init_from={base}", "--out", run,
    )  # fmt: skip
    assert rc == 0, err
    a = ckpt.load_checkpoint(ckpt.latest_checkpoint(base / "checkpoints"))["models"]["G"]
    b = ckpt.load_checkpoint(ckpt.latest_checkpoint(run / "checkpoints"))["models"]["G"]
    convs = [k for k in a if k.endswith("weight") and a[k].dim() == 4]
    assert convs and all(torch.equal(a[k], b[k]) for k in convs)
    bad = tmp_path / "nothing"
    rc, _, err = cli(
        "train", "srgan", "--steps", "1", *TINY, *TINY_D, *QUIET,
        "--set", f"init_from={bad}", "--out", tmp_path / "bad",
    )  # fmt: skip
    assert rc == 2 and f"init_from={bad}: {bad} is not a run directory" in err
    assert len(err.strip().splitlines()) == 1
    rc, out, err = cli("translate", run, "--eval", "--n", "32")
    assert rc == 0, err
    scores = json.loads(out.strip().splitlines()[-1])
    assert scores["scale"] == 4 and scores["test_images"] == 32
    for key in ("model", "bicubic_baseline"):
        assert set(scores[key]) == {"psnr", "ssim", "fd"}
    # upscale: any input size, x4; wrong channels, taken outputs and other runs refused
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.fromarray(np.zeros((7, 7), np.uint8)).save(inputs / "a.png")
    Image.fromarray(np.full((5, 9), 200, np.uint8)).save(inputs / "b.png")
    rc, out, err = cli("upscale", run, "--input", inputs, "--out", tmp_path / "up")
    assert rc == 0, err and "wrote 2 upscaled images" in out
    sizes = {p.name: Image.open(p).size for p in (tmp_path / "up").iterdir()}
    assert sizes == {"a.png": (28, 28), "b.png": (36, 20)}
    rc, _, err = cli("upscale", run, "--input", inputs, "--out", tmp_path / "up")
    assert rc == 2 and "exists; pass --force" in err and len(err.strip().splitlines()) == 1
    Image.fromarray(np.zeros((7, 7, 3), np.uint8)).save(tmp_path / "rgb.png")
    rc, _, err = cli("upscale", run, "--input", tmp_path / "rgb.png", "--out", tmp_path / "u2")
    assert rc == 2 and "is a colour image; this run upscales gray (1-channel)" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "u2").exists()
    rc, _, err = cli("upscale", run, "--input", tmp_path / "none", "--out", tmp_path / "u3")
    assert rc == 2 and "does not exist" in err
    rc, _, err = cli("translate", run, "--input", inputs, "--out", tmp_path / "t")
    assert rc == 2 and "ganforge upscale" in err
    # G takes images: export and sample are refused with the command to use instead
    for args in (["export", run, "--format", "onnx", "--out", tmp_path / "g.onnx"],
                 ["sample", run, "--n", "4", "--out", tmp_path / "s.npy"]):  # fmt: skip
        rc, _, err = cli(*args)
        assert rc == 2 and "has no latent samples: use `ganforge upscale" in err
        assert len(err.strip().splitlines()) == 1


def test_wasserstein_srgan_on_a_folder_resumes_byte_identical(cli, tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    run = tmp_path / "run"
    rc, _, err = cli(
        "train", "srgan", "--dataset", f"sr2:{folder}", "--image-size", "8", "--steps", "4",
        "--set", "loss=wasserstein", *TINY, *TINY_D, *QUIET, "--seed", "2",
        "--set", "checkpoint_every=2", "--set", "checkpoint_minutes=0", "--out", run,
    )  # fmt: skip
    assert rc == 0, err
    assert "gp" in (run / "metrics.jsonl").read_text()
    cut = tmp_path / "cut"
    shutil.copytree(run, cut)
    ckpt.step_path(cut / "checkpoints", 4).unlink()
    rc, _, err = cli("train", "--resume", cut)
    assert rc == 0, err
    a = ckpt.step_path(run / "checkpoints", 4).read_bytes()
    assert a == ckpt.step_path(cut / "checkpoints", 4).read_bytes()
    rc, out, err = cli("translate", run, "--eval")
    assert rc == 0, err
    assert "FD needs 1x28x28" in json.loads(out.strip().splitlines()[-1])["fd_skipped"]
