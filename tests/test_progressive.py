"""progan (Karras et al. 2018, arXiv:1710.10196): growth schedule, fade-in continuity, faded
reals, equalised lr, minibatch stddev, WGAN-GP + drift, Adam reset, exact resume mid-phase,
an RGB folder end to end (train, report, export), grayscale padded to the canvas."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from torch import nn

from ganforge import api
from ganforge.games import build_game
from ganforge.games.progressive import Stage, canvas_for, pad_to_canvas, stage_at
from ganforge.models.equalized import EqualConv2d, EqualLinear, MinibatchStdDev, PixelNorm
from ganforge.models.progressive import (
    ProgressiveDiscriminator,
    ProgressiveGenerator,
    fade_reals,
)
from ganforge.training import checkpoint as ckpt
from robust_util import rgb_folder

SMALL = ["--set", "g_width=8", "--set", "d_width=8", "--batch-size", "8"]


def _cfg(**kw):
    return api.make_config("progan", {"g_width": 8, "d_width": 8, "batch_size": 8, **kw})


# -- the schedule -------------------------------------------------------------------------
def test_growth_schedule_fades_then_stabilises_each_resolution():
    p, levels = 100, 3  # 4x4 for 100 images, then fade 100 + stabilise 100 per level
    assert stage_at(0, p, levels) == Stage(0, 1.0, 0, 0)
    assert stage_at(99, p, levels) == Stage(0, 1.0, 0, 99)
    assert stage_at(100, p, levels) == Stage(1, 0.0, 1, 100)
    assert stage_at(125, p, levels) == Stage(1, 0.25, 1, 125)
    assert stage_at(200, p, levels) == Stage(1, 1.0, 2, 200)
    assert stage_at(350, p, levels) == Stage(2, 0.5, 3, 350)
    assert stage_at(600, p, levels) == Stage(3, 1.0, 6, 600)
    assert stage_at(10**9, p, levels) == Stage(3, 1.0, 6, 10**9)  # stays at the top


def test_canvas_is_the_next_power_of_two_and_pads_with_black():
    assert canvas_for(28, 28) == 32 and canvas_for(64, 64) == 64 and canvas_for(5, 5) == 8
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    padded = pad_to_canvas(x, 32)
    assert padded.shape == (2, 1, 32, 32)
    assert torch.equal(padded[:, :, 2:30, 2:30], x)  # the image itself, not resized
    border = torch.ones(32, 32, dtype=torch.bool)
    border[2:30, 2:30] = False
    assert torch.all(padded[:, :, border] == -1)


# -- fade-in continuity ---------------------------------------------------------------------
def test_generator_is_continuous_at_every_phase_switch_and_affine_in_alpha():
    """G's canvas image at level k, alpha = 1 equals (bit for bit) that at level k + 1,
    alpha = 0; within a fade it is (1 - alpha) G(alpha=0) + alpha G(alpha=1)."""
    torch.manual_seed(0)
    g = ProgressiveGenerator(16, 3, 32, 8, (32, 32))
    z = torch.randn(4, 16)
    for k in range(g.levels):
        g.set_stage(k, 1.0)
        before = g.canvas(z)
        g.set_stage(k + 1, 0.0)
        after = g.canvas(z)
        assert torch.equal(before, after), k
        g.set_stage(k + 1, 1.0)
        top = g.canvas(z)
        assert (top - after).abs().max() > 1e-3  # the new level does change the image
        g.set_stage(k + 1, 0.3)
        torch.testing.assert_close(g.canvas(z), torch.lerp(after, top, 0.3))


def test_discriminator_is_continuous_at_every_phase_switch_and_in_alpha():
    """D at level k, alpha = 1 equals D at level k + 1, alpha = 0 (up to pooling rounding),
    and D's output moves by O(delta) when alpha moves by delta."""
    torch.manual_seed(0)
    d = ProgressiveDiscriminator(3, 32, 8)
    x = torch.randn(8, 3, 32, 32)
    for k in range(d.levels):
        d.set_stage(k, 1.0)
        before = d(x)
        d.set_stage(k + 1, 0.0)
        torch.testing.assert_close(d(x), before, rtol=0, atol=1e-5)
        d.set_stage(k + 1, 1.0)
        span = (d(x) - before).abs().max()
        assert span > 1e-3
        d.set_stage(k + 1, 0.5)
        mid = d(x)
        d.set_stage(k + 1, 0.5 + 1e-4)
        assert (d(x) - mid).abs().max() < 1e-3 * span


# -- the layers ---------------------------------------------------------------------------
def test_every_layer_has_the_equalised_learning_rate_and_g_has_pixel_norm():
    torch.manual_seed(0)
    g = ProgressiveGenerator(32, 1, 16, 16, (16, 16))
    d = ProgressiveDiscriminator(1, 16, 16)
    for net in (g, d):
        weighted = [m for m in net.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
        assert weighted == []  # no plain layers: every weight is scaled at run time
        eq = [m for m in net.modules() if isinstance(m, EqualConv2d | EqualLinear)]
        assert len(eq) >= 6
        for m in eq:  # stored N(0, 1), scaled by gain / sqrt(fan_in)
            assert abs(m.weight.std().item() - 1) < 0.35
            gain = m.scale * m.weight[0].numel() ** 0.5  # He's constant times the gain
            assert min(abs(gain - g) for g in (1.0, 2**0.5, 2**0.5 / 4)) < 1e-6
    seen = []
    g.norm.register_forward_hook(lambda m, i, o: seen.append(o))
    assert isinstance(g.norm, PixelNorm)
    g.set_stage(2, 1.0)
    g(torch.randn(3, 32) * 5)
    assert len(seen) == 1 + 1 + 1 + 2 * 2  # latent, 4x4 dense and conv, two per level
    for out in seen[1:]:  # feature maps: mean square over channels is 1 at every pixel
        torch.testing.assert_close(out.pow(2).mean(1), torch.ones_like(out[:, 0]), atol=1e-4,
                                   rtol=0)  # fmt: skip


def test_discriminator_uses_the_minibatch_stddev_over_strided_groups_of_four():
    torch.manual_seed(0)
    d = ProgressiveDiscriminator(1, 8, 8)
    assert isinstance(d.mbstd, MinibatchStdDev) and d.mbstd.group == 4
    assert d.conv0.weight.shape[1] == 8 + 1  # the stddev channel enters D's last conv
    x = torch.randn(8, 1, 8, 8)
    base = d(x)
    other = x.clone()
    other[2] += 1.0  # sample 2 shares a group with 0, 4, 6 (official strided grouping)
    moved = d(other)
    assert (moved[0] - base[0]).abs() > 1e-6
    assert torch.equal(moved[1], base[1]) and torch.equal(moved[3], base[3])


# -- the objective --------------------------------------------------------------------------
def test_d_loss_is_wgan_gp_with_lambda_10_plus_drift():
    cfg = _cfg(progan_phase_images=10**6)
    game = build_game(cfg, (1, 8, 8), 0)
    real_u8 = torch.randint(0, 256, (8, 1, 8, 8), dtype=torch.uint8)
    torch.manual_seed(5)
    d = game.d_loss((real_u8, None), 0)
    torch.manual_seed(5)  # the same draws by hand: z, then the interpolation weights
    z = torch.randn(8, cfg.z_dim)
    real = fade_reals(real_u8.float().mul(2.0 / 255.0).sub(1.0), 0, 1.0)  # 4x4 on the canvas
    fake = game.G.canvas(z).detach()
    r, f = game.D(real), game.D(fake)
    a = torch.rand(8, 1, 1, 1)
    x_hat = (a * real + (1 - a) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(game.D(x_hat).sum(), x_hat)
    gp = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
    expected = f.mean() - r.mean() + 10 * gp + 1e-3 * r.pow(2).mean()
    torch.testing.assert_close(d.loss, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(d.logs["drift"], r.pow(2).mean())
    assert cfg.progan_drift == 1e-3 and cfg.penalty_weight == 10
    assert (cfg.lr_g, cfg.beta1, cfg.beta2, cfg.ema) == (1e-3, 0.0, 0.99, 0.999)


def test_reals_are_cross_faded_at_the_same_alpha():
    """(1 - alpha) up2(pool2(x_r)) + alpha x_r at r = 16, computed with reshapes, shown on
    the 32 canvas as 2x2 blocks."""
    x = torch.rand(2, 3, 32, 32)
    x16 = x.reshape(2, 3, 16, 2, 16, 2).mean((3, 5))
    x8 = x16.reshape(2, 3, 8, 2, 8, 2).mean((3, 5))
    up = x8.repeat_interleave(2, 2).repeat_interleave(2, 3)
    for alpha in (0.0, 0.3, 1.0):
        expected = (1 - alpha) * up + alpha * x16
        expected = expected.repeat_interleave(2, 2).repeat_interleave(2, 3)
        torch.testing.assert_close(fade_reals(x, 2, alpha), expected)
    game = build_game(_cfg(progan_phase_images=16), (1, 28, 28), 0)
    batch = (torch.randint(0, 256, (8, 1, 28, 28), dtype=torch.uint8), None)
    game.enter(3)  # images 24: fading in 8x8 at alpha 0.5
    assert (game.stage.level, game.stage.alpha) == (1, 0.5)
    padded = pad_to_canvas(batch[0].float() / 127.5 - 1, 32)
    torch.testing.assert_close(game.reals(batch), fade_reals(padded, 1, 0.5))


def test_adam_is_reset_when_a_fade_or_a_stabilisation_begins():
    game = build_game(_cfg(progan_phase_images=16), (1, 8, 8), 0)
    opt_g = torch.optim.Adam(game.G.parameters())
    opt_d = torch.optim.Adam(game.D.parameters())
    game.bind_optimizers(opt_g, opt_d)

    def filled():
        for net, opt in ((game.G, opt_g), (game.D, opt_d)):
            opt.zero_grad()
            sum(p.sum() for p in net.parameters()).backward()
            opt.step()
        return len(opt_g.state) > 0 and len(opt_d.state) > 0

    assert filled()
    game.enter(1)  # images 8: still 4x4
    assert len(opt_g.state) > 0
    game.enter(2)  # images 16: the 8x8 fade begins
    assert len(opt_g.state) == 0 and len(opt_d.state) == 0
    assert filled()
    game.enter(2)  # the same step again (a second D step): no second reset
    assert len(opt_g.state) > 0
    game.enter(3)
    assert len(opt_g.state) > 0
    game.enter(4)  # images 32: the stabilisation begins
    assert len(opt_d.state) == 0
    kept = build_game(_cfg(progan_phase_images=16, progan_reset_adam=False), (1, 8, 8), 0)
    kept.bind_optimizers(opt_g, opt_d)
    assert filled()
    kept.enter(2)
    assert len(opt_g.state) > 0


def test_fixed_inputs_stay_the_same_as_the_grid_grows():
    game = build_game(_cfg(progan_phase_images=8), (1, 28, 28), 0)
    before = game.fixed_inputs(4, 11)
    shots = []
    for step in (0, 1, 2, 3, 100):
        game.enter(step)
        assert torch.equal(game.fixed_inputs(4, 11)["z"], before["z"])
        shots.append(game.render(game.G, before))
    assert all(s.shape == (4, 1, 28, 28) for s in shots)
    canvas = pad_to_canvas(shots[0], 32)  # 4x4 stage: 8x8 blocks of one value on the canvas
    blocks = canvas[:, :, 2:30, 2:30]
    assert torch.equal(blocks[:, :, 6:14, 6:14], blocks[:, :, 6:7, 6:7].expand(-1, -1, 8, 8))
    assert not torch.equal(shots[0], shots[-1])


# -- configuration ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, words",
    [
        (["dcgan", "--set", "progan_drift=0.01"], "'progan_drift' has no effect here"),
        (["dcgan", "--set", "arch=progressive"], "does not go with arch=progressive"),
        (["progan", "--set", "g_norm=batch"], "bad value 'batch' for 'g_norm'"),
        (["progan", "--batch-size", "6"], "groups of 4 samples"),
        (["progan", "--set", "conditioning=concat"], "progan is unconditional"),
    ],
)
def test_keys_that_cannot_act_are_refused_in_one_line(args, words, cli, tmp_path):
    rc, _, err = cli("train", *args, "--steps", "1", "--out", tmp_path / "r")
    assert rc == 2
    assert words in err and len(err.strip().splitlines()) == 1


# -- end to end ---------------------------------------------------------------------------
def test_resume_mid_fade_is_byte_identical(tmp_path, cli):
    """Phases of 24 images at batch 8: step 3 starts the 8x8 fade, step 6 its stabilisation
    (an Adam reset), step 9 the 16x16 fade. Cut back to step 5's checkpoint (alpha 2/3) and
    resumed, the run ends byte-identical to the uninterrupted one."""
    run = tmp_path / "run"
    args = ["train", "progan", "--steps", "11", "--seed", "3", *SMALL]
    args += ["--set", "progan_phase_images=24", "--set", "checkpoint_every=5"]
    args += ["--set", "checkpoint_minutes=0", "--set", "keep_checkpoints=5"]
    args += ["--set", "report=false", "--set", "sample_every=1000"]
    rc, _, err = cli(*args, "--out", run)
    assert rc == 0, err
    state = ckpt.load_checkpoint(ckpt.step_path(run / "checkpoints", 5))
    assert state["game_state"]["phase"] == 1 and state["game_state"]["alpha"] == pytest.approx(
        1 / 3
    )
    cut = tmp_path / "cut"
    shutil.copytree(run, cut)
    for step in (10, 11):
        ckpt.step_path(cut / "checkpoints", step).unlink()
    rc, _, err = cli("train", "--resume", cut)
    assert rc == 0, err
    a = ckpt.step_path(run / "checkpoints", 11).read_bytes()
    assert a == ckpt.step_path(cut / "checkpoints", 11).read_bytes()
    final = ckpt.load_checkpoint(ckpt.step_path(run / "checkpoints", 11))["game_state"]
    assert (final["level"], final["alpha"]) == (2, pytest.approx(1 / 3))
    loaded = api.load_run(run, device="cpu")  # samples at the stage the run reached
    assert (loaded.game.stage.level, loaded.game.stage.images) == (2, 80)
    assert loaded.sample(4).shape == (4, 1, 28, 28)


def test_rgb_folder_trains_writes_the_report_and_exports(tmp_path, cli):
    folder = rgb_folder(tmp_path / "pics", n=48)
    run = tmp_path / "run"
    rc, _, err = cli("train", "progan", "--dataset", f"folder:{folder}", "--image-size", "32",
                     "--steps", "6",
                     *SMALL, "--set", "progan_phase_images=12", "--set", "log_every=1", "--out", run)  # fmt: skip
    assert rc == 0, err
    assert (run / "report.html").stat().st_size > 1000
    assert (run / "timelapse.gif").is_file() and (run / "samples.png").is_file()
    assert json.loads((run / "run.json").read_text())["game"] == {
        "data_shape": [3, 32, 32],
        "canvas": 32,
    }
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["growth"] for x in lines] == pytest.approx([0, 0, 1 / 3, 1, 1, 4 / 3])
    assert [x["alpha"] for x in lines] == pytest.approx([1, 1, 1 / 3, 1, 1, 1 / 3])
    for fmt, name in (("torchscript", "g.pt"), ("onnx", "g.onnx")):
        rc, out, err = cli("export", run, "--format", fmt, "--out", tmp_path / name, "--json")
        assert rc == 0, err
        facts = json.loads(out)
        assert facts["max_abs_diff"] <= 1e-5
        assert facts["output"]["shape"] == [-1, 3, 32, 32]
    ts = torch.jit.load(str(tmp_path / "g.pt"))
    assert ts(torch.randn(2, 128)).shape == (2, 3, 32, 32)
