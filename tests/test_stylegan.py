"""The stylegan recipe: mapping network, style mixing, truncation, noise, lazy R1 and its
optimiser rescaling, exact resume, an RGB folder, export and the report (Karras et al. 2019,
arXiv:1812.04948; 2020, arXiv:1912.04958)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from ganforge import penalties
from ganforge.games import build_game
from ganforge.games.style import style_groups
from ganforge.models.style import MappingNetwork
from ganforge.models.style_d import StyleDiscriminator
from ganforge.recipes import get_recipe
from ganforge.training import checkpoint as ckpt
from ganforge.training.ema import EMA
from ganforge.training.trainer import make_optimizer
from robust_util import rgb_folder

SMALL = {"z_dim": 16, "g_width": 8, "d_width": 8, "mapping_layers": 2, "batch_size": 8}
TINY = [f"--set={k}={v}" for k, v in SMALL.items() if k != "batch_size"]
TINY += ["--batch-size", "8", "--set", "sample_every=1000"]


def _game(shape=(1, 32, 32), **overrides):
    torch.manual_seed(0)
    cfg = get_recipe("stylegan").config(**{**SMALL, **overrides})
    return build_game(cfg, shape, 0)


def _batch(n=8, c=1, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, c, size, size), dtype=torch.uint8, generator=g), None


def test_28_px_data_is_padded_to_a_32_px_canvas_and_samples_cropped_back():
    """Fashion-MNIST is not resized: reals are centred on a 32 px canvas of -1 for D, and G's
    canvas is cropped back to 28 px for samples and export (metrics compare like with like)."""
    game = _game(shape=(1, 28, 28))
    assert game.canvas == 32 and game.G.canvas_size == 32
    seen = []
    game.D.register_forward_pre_hook(lambda m, args: seen.append(args[0].shape))
    x, _ = _batch(size=28)
    game.d_loss((x, None), 0)
    assert seen[0] == (8, 1, 32, 32)
    z = torch.randn(3, 16)
    sample = game.render(game.G, {"z": z})
    assert sample.shape == (3, 1, 28, 28) and game.G(z).shape == (3, 1, 28, 28)
    with torch.no_grad():
        canvas = game.G.synthesis(game.G.broadcast(game.G.mapping(z)), "const")
    assert torch.equal(sample, canvas[..., 2:30, 2:30].clamp(-1, 1))


# ------------------------------------------------------------------- mapping network
def test_recipe_follows_the_papers():
    cfg = get_recipe("stylegan").config()
    game = build_game(cfg, (1, 32, 32), 0)
    assert len(game.G.mapping.layers) == 8 and game.G.mapping.layers[0].lr_mul == 0.01
    assert (cfg.style_mixing, cfg.w_avg_beta, cfg.penalty, cfg.penalty_every) == (
        0.9,
        0.995,
        "r1",
        16,
    )
    assert (cfg.lr_g, cfg.beta1, cfg.beta2, cfg.loss) == (0.0025, 0.0, 0.99, "non-saturating")
    # StyleGAN2-ADA's auto gamma: 0.0002 * 32^2 / 32
    assert game.gamma == pytest.approx(0.0064) and game.describe()["r1_gamma"] == game.gamma
    assert game.num_ws == 8 and game.latent_spaces() == ("z", "w")


def test_mapping_network_effective_learning_rate_is_lr_times_lr_mul():
    """One Adam step moves every stored weight by ~lr; the effective weight w * c moves by
    lr * lr_mul / sqrt(fan_in): 100x slower with lr_mul 0.01 than with 1."""
    torch.manual_seed(0)
    slow = MappingNetwork(16, 16, 1, lr_mul=0.01).double()  # float64: the stored weights
    fast = MappingNetwork(16, 16, 1, lr_mul=1.0).double()  # are ~100, their steps ~1e-3
    with torch.no_grad():  # the same effective network
        fast.layers[0].weight.copy_(slow.layers[0].weight * 0.01)
    z = torch.randn(8, 16, dtype=torch.float64)
    torch.testing.assert_close(slow(z), fast(z))
    lr, moved = 1e-3, {}
    for name, net in (("slow", slow), ("fast", fast)):
        layer = net.layers[0]
        before = (layer.weight * layer.scale).detach().clone()
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        net(z).square().sum().backward()
        opt.step()
        moved[name] = ((layer.weight * layer.scale).detach() - before).abs()
    fan_in = 16**0.5
    assert moved["fast"].median().item() == pytest.approx(lr / fan_in, rel=1e-3)
    assert moved["slow"].median().item() == pytest.approx(lr * 0.01 / fan_in, rel=1e-3)


# ------------------------------------------------------------------- style mixing
def test_style_layer_groups_scale_the_papers_split():
    assert style_groups(4) == {"coarse": slice(0, 4), "middle": slice(4, 6), "fine": slice(6, 8)}
    # 64 px: the paper's own split, 4-8 / 16-32 / 64
    assert style_groups(5) == {"coarse": slice(0, 4), "middle": slice(4, 8), "fine": slice(8, 10)}
    assert style_groups(6)["fine"] == slice(8, 12)
    assert style_groups(2) == {"coarse": slice(0, 2), "middle": slice(2, 2), "fine": slice(2, 4)}


def test_style_mixing_takes_coarse_styles_from_one_latent_and_the_rest_from_the_other():
    game = _game()
    G = game.G.eval()
    gen = torch.Generator().manual_seed(1)
    a, b = game.draw_inputs(3, "cpu", gen)["z"], game.draw_inputs(3, "cpu", gen)["z"]
    cut = game.style_layers()["middle"].start  # coarse from a, middle and fine from b
    mixed = {"z": a, "mix_z": b, "mix_from": torch.full((3,), cut)}
    with torch.no_grad():
        ws, wa, wb = game.to_w(G, mixed), G.mapping(a), G.mapping(b)
    assert ws.shape == (3, 8, 16) and cut == 4
    assert torch.equal(ws[:, :cut], wa[:, None].expand(-1, cut, -1))
    assert torch.equal(ws[:, cut:], wb[:, None].expand(-1, 8 - cut, -1))
    img = game.render(G, mixed)
    # the image depends on both latents: changing either one changes it
    other = game.draw_inputs(3, "cpu", gen)["z"]
    assert (game.render(G, {**mixed, "z": other}) - img).abs().amax((1, 2, 3)).min() > 1e-4
    assert (game.render(G, {**mixed, "mix_z": other}) - img).abs().amax((1, 2, 3)).min() > 1e-4
    assert (img - game.render(G, {"z": a})).abs().max() > 1e-4


def test_training_fakes_mix_two_latents_at_one_crossover_per_batch():
    game = _game(style_mixing=1.0)
    torch.manual_seed(5)
    _, ws = game._fakes(4, torch.device("cpu"))
    changes = [k for k in range(1, 8) if not torch.equal(ws[:, k], ws[:, k - 1])]
    assert len(changes) == 1  # one crossover k in 1..num_ws-1, the same for the whole batch
    k = changes[0]
    assert torch.equal(ws[:, :k], ws[:, :1].expand(-1, k, -1))
    assert torch.equal(ws[:, k:], ws[:, k:k + 1].expand(-1, 8 - k, -1))  # fmt: skip
    game = _game(style_mixing=0.0)
    _, ws = game._fakes(4, torch.device("cpu"))
    assert torch.equal(ws, ws[:, :1].expand(-1, 8, -1))


# ------------------------------------------------------------------- truncation and w_avg
def test_truncation_psi_0_gives_the_average_image_and_psi_1_changes_nothing():
    game = _game()
    G = game.G.eval()
    G.w_avg.copy_(torch.randn(16))  # a non-trivial centre
    gen = torch.Generator().manual_seed(0)
    inputs = game.fixed_inputs(4, 0)
    plain = game.render(G, inputs)
    assert torch.equal(game.render(G, game.truncate(inputs, 1.0, gen)), plain)
    zero = game.render(G, game.truncate(inputs, 0.0, gen))
    centre = game.render_w(G, G.w_avg.repeat(4, 8, 1))  # the average w's image, 4 times
    assert torch.equal(zero, centre) and torch.equal(zero, zero[:1].expand(4, -1, -1, -1))
    half = game.to_w(G, game.truncate(inputs, 0.5, gen))
    torch.testing.assert_close(half, (game.to_w(G, inputs) + G.w_avg) / 2)


def test_w_avg_tracks_training_w_and_the_ema_g_keeps_a_copy():
    game = _game()
    ema = EMA(game.G, 0.999)
    torch.manual_seed(1)
    game.d_loss(_batch(), 0)
    assert game.G.w_avg.abs().sum() > 0  # moved from 0 by (1 - 0.995) mean(w)
    ema.update()
    assert torch.equal(ema.module.w_avg, game.G.w_avg)
    # the EMA G truncates toward its own w_avg
    inputs = game.truncate(game.fixed_inputs(2, 0), 0.0, torch.Generator())
    assert torch.equal(game.to_w(ema.module, inputs)[0, 0], ema.module.w_avg)


def test_w_avg_update_is_the_references_moving_average():
    game = _game()
    w = torch.randn(8, 16)
    game.G.w_avg.fill_(1.0)
    game.G.track_w_avg(w, 0.995)
    torch.testing.assert_close(game.G.w_avg, 0.995 * torch.ones(16) + 0.005 * w.mean(0))


# ------------------------------------------------------------------- noise
def test_noise_strengths_are_learned_per_channel():
    game = _game()
    loss, _ = game.g_loss(_batch(), 1)
    loss.backward()
    for layer in game.G.layers:
        assert layer.noise_strength.shape == layer.bias.shape
        assert layer.noise_strength.grad is not None and layer.noise_strength.grad.abs().sum() > 0
    assert game.G.const.grad.abs().sum() > 0
    assert all(p.grad.abs().sum() > 0 for p in game.G.mapping.parameters())


def test_sampling_noise_is_fixed_and_training_noise_random():
    game = _game()
    G = game.G
    with torch.no_grad():
        G.layers[0].noise_strength.fill_(1.0)
        ws = G.broadcast(G.mapping(torch.randn(2, 16)))
        assert torch.equal(G.synthesis(ws, "const"), G.synthesis(ws, "const"))
        assert not torch.equal(G.synthesis(ws, "random"), G.synthesis(ws, "random"))


# ------------------------------------------------------------------- R1 and lazy regularisation
def test_r1_of_the_style_discriminator_matches_finite_differences():
    """1/2 E||grad_x D(x)||^2 by autograd against central differences over every pixel (the
    minibatch-stddev layer couples the samples: the gradient is that of sum_j D(x)_j). The
    stddev layer computes in float32, so the step is 1e-3 (truncation error ~1e-6)."""
    torch.manual_seed(0)
    D = StyleDiscriminator(1, 8, 4).double()
    x = torch.randn(4, 1, 8, 8, dtype=torch.float64)
    value = penalties.half_r1_penalty(D, x, x)
    eps, grad = 1e-3, torch.zeros_like(x)
    with torch.no_grad():
        for idx in np.ndindex(*x.shape):
            e = torch.zeros_like(x)
            e[idx] = eps
            grad[idx] = (D(x + e).sum() - D(x - e).sum()) / (2 * eps)
    expected = 0.5 * grad.flatten(1).pow(2).sum(1).mean()
    assert value.item() == pytest.approx(expected.item(), rel=2e-5)


def test_lazy_r1_runs_every_k_steps_weighted_by_k_times_gamma():
    game = _game()
    assert game.gamma == pytest.approx(0.0002 * 32**2 / 8)
    losses, logs = {}, {}
    for step in (16, 17):
        torch.manual_seed(3)
        d = game.d_loss(_batch(), step)
        losses[step], logs[step] = d.loss.item(), d.logs
    assert "penalty" in logs[16] and "penalty" not in logs[17]
    expected = game.gamma * 16 * logs[16]["penalty"].item()
    assert losses[16] - losses[17] == pytest.approx(expected, rel=1e-4)


def test_lazy_regularisation_rescales_lr_and_betas_by_k_over_k_plus_1():
    game = _game(g_penalty="path_length", g_penalty_every=4)
    cfg = game.cfg
    assert game.lazy_ratio("D") == 16 / 17 and game.lazy_ratio("G") == 4 / 5
    for player, module, c in (("D", game.D, 16 / 17), ("G", game.G, 4 / 5)):
        group = make_optimizer(cfg, module.parameters(), 0.0025, game.lazy_ratio(player))
        group = group.param_groups[0]
        assert group["lr"] == pytest.approx(0.0025 * c)
        assert group["betas"] == (0.0, pytest.approx(0.99**c))
    assert _game(penalty_every=1).lazy_ratio("D") == 1.0  # every step: not lazy
    assert _game().lazy_ratio("G") == 1.0  # no G regulariser
    dcgan = get_recipe("dcgan").config()
    assert build_game(dcgan, (1, 28, 28), 0).lazy_ratio("D") == 1.0


def test_path_length_is_taken_on_the_styles_of_half_the_batch():
    game = _game(g_penalty="path_length", g_penalty_every=2)
    torch.manual_seed(0)
    _, logs = game.g_loss(_batch(), 2)
    assert "g_penalty" in logs and torch.isfinite(game.pl_mean)
    assert "g_penalty" not in game.g_loss(_batch(), 3)[1]


# ------------------------------------------------------------------- end to end
def test_resume_is_byte_identical_with_both_lazy_regularisers(cli, tmp_path):
    folder = rgb_folder(tmp_path / "pics")  # read as grayscale
    run = tmp_path / "run"
    args = ["train", "stylegan", "--dataset", f"folder:{folder}", "--channels", "1"]
    args += ["--steps", "8", "--seed", "2", *TINY]
    args += ["--set", "checkpoint_every=4", "--set", "checkpoint_minutes=0"]
    args += ["--set", "report=false", "--set", "g_penalty=path_length"]
    args += ["--set", "g_penalty_every=3", "--set", "penalty_every=3"]
    rc, _, err = cli(*args, "--out", run)
    assert rc == 0, err
    cut = tmp_path / "cut"
    shutil.copytree(run, cut)
    ckpt.step_path(cut / "checkpoints", 8).unlink()
    rc, _, err = cli("train", "--resume", cut)
    assert rc == 0, err
    a = ckpt.step_path(run / "checkpoints", 8)
    assert a.read_bytes() == ckpt.step_path(cut / "checkpoints", 8).read_bytes()
    state = ckpt.load_checkpoint(a)
    d_group, g_group = (
        state["optim"]["d"]["param_groups"][0],
        state["optim"]["g"]["param_groups"][0],
    )
    assert d_group["lr"] == pytest.approx(0.0025 * 3 / 4)  # kept by the lr schedule hook
    assert g_group["betas"][1] == pytest.approx(0.99**0.75)
    assert state["game_state"]["pl_mean"].isfinite()
    assert torch.equal(state["ema"]["w_avg"], state["models"]["G"]["w_avg"])


def test_rgb_folder_trains_exports_and_gets_its_report(cli, tmp_path):
    folder = rgb_folder(tmp_path / "pics")
    run = tmp_path / "run"
    rc, _, err = cli("train", "stylegan", "--dataset", f"folder:{folder}", "--steps", "3", "--image-size", "32",
                     *TINY, "--out", run)  # fmt: skip
    assert rc == 0, err
    report = (run / "report.html").read_text()
    assert "stylegan" in report and (run / "samples.png").stat().st_size > 0
    rc, _, err = cli("sample", run, "--n", "5", "--out", tmp_path / "s.npy")
    assert rc == 0, err
    x = np.load(tmp_path / "s.npy")
    assert x.shape == (5, 3, 32, 32) and x.min() >= -1 and x.max() <= 1 and x.std() > 0
    rc, out, err = cli("export", run, "--format", "torchscript", "--out", tmp_path / "g.pt",
                       "--json")  # fmt: skip
    assert rc == 0, err
    facts = json.loads(out)
    assert facts["max_abs_diff"] <= 1e-5 and facts["inputs"][0]["shape"] == [-1, 16]
    z = torch.randn(3, 16)
    loaded = torch.jit.load(str(tmp_path / "g.pt"))
    with torch.no_grad():
        expected = build_game(get_recipe("stylegan").config(**SMALL), (3, 32, 32), 0)
        expected.G.load_state_dict(
            ckpt.load_checkpoint(ckpt.latest_checkpoint(run / "checkpoints"))["ema"]
        )
        torch.testing.assert_close(loaded(z), expected.render(expected.G.eval(), {"z": z}))


@pytest.mark.slow
def test_onnx_export_takes_z_and_matches_pytorch(tmp_path):
    """The dynamo ONNX exporter takes ~25 s on a loaded 2-core machine: one tiny 8 px G."""
    from ganforge.export import export_loaded, load_exported

    game = _game((3, 8, 8), mapping_layers=1).eval()
    facts = export_loaded(game, game.G, "onnx", tmp_path / "g.onnx", "latent")
    assert facts["max_abs_diff"] <= 1e-5 and facts["inputs"] == [
        {"name": "z", "shape": [-1, 16], "dtype": "float32"}
    ]
    z = torch.randn(3, 16)
    got = load_exported(tmp_path / "g.onnx", "onnx")(z.numpy())
    expected = game.render(game.G, {"z": z}).numpy()
    assert np.abs(np.asarray(got) - expected).max() <= 1e-5


@pytest.mark.parametrize(
    "sets, expect",
    [
        (["--set", "arch=dcgan"], "game=style and arch=style go together"),
        (["--batch-size", "6"], "needs a multiple of 4"),
        (["--set", "penalty_weight=1"], "penalty_weight has no effect with r1_auto=true"),
        (["--set", "g_norm=batch"], "'g_norm' cannot act with game=style"),
        (["--image-size", "4"], "8 px or more"),
    ],
)
def test_misuse_is_one_line_and_exit_2(cli, tmp_path, sets, expect):
    rc, _, err = cli("train", "stylegan", "--steps", "1", *sets, "--out", tmp_path / "r")
    assert rc == 2 and expect in err and len(err.strip().splitlines()) == 1, err


def test_style_keys_are_refused_outside_the_style_game(cli, tmp_path):
    rc, _, err = cli("train", "dcgan", "--set", "style_mixing=0.5", "--out", tmp_path / "r")
    assert rc == 2 and "'style_mixing' has no effect here" in err
    rc, _, err = cli("train", "wgan-gp", "--set", "penalty_every=4", "--out", tmp_path / "r")
    assert rc == 2 and "'penalty_every' has no effect here" in err
