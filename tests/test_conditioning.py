"""Conditioning schemes: shapes, label handling, mismatched pairs, heads; --class and --code."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganforge.errors import ConfigError
from ganforge.games import build_game
from ganforge.games.adversarial import AdversarialGame
from ganforge.recipes import get_recipe
from robust_util import TINY

SHAPE = (1, 28, 28)
K = 10


def make(recipe: str, **extra) -> AdversarialGame:
    torch.manual_seed(0)
    cfg = get_recipe(recipe).config(g_width=8, d_width=8, channels_last=False, **extra)
    return build_game(cfg, SHAPE, K)


def batch(n: int = 6, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, *SHAPE), generator=gen, dtype=torch.uint8)
    labels = torch.randint(0, K, (n,), generator=gen)
    return images, labels


def first_layer(module: torch.nn.Module) -> torch.nn.Module:
    return next(m for m in module.modules() if isinstance(m, torch.nn.Linear | torch.nn.Conv2d))


@pytest.mark.parametrize(
    "recipe, g_in, d_in_channels",
    [
        ("dcgan", 100, 1),
        ("cgan", 100 + K, 1 + K),  # one-hot appended to z and as K constant maps to x
        ("cgan-matching", 100 + K, 1 + K),
        ("acgan", 100 + K, 1),  # labels enter D only through the auxiliary classifier
        ("projection", 100 + K, 1),  # labels enter D through the inner product
        ("infogan", 62 + 10 + 2, 1),
    ],
)
def test_input_widths_of_g_and_d(recipe, g_in, d_in_channels):
    game = make(recipe)
    assert first_layer(game.G).in_features == g_in
    assert first_layer(game.D.net).in_channels == d_in_channels
    inputs = game.draw_inputs(4, torch.device("cpu"))
    x = game.G(game.g_input(inputs))
    assert x.shape == (4, *SHAPE)
    out, h = game.critic(x, inputs.get("y"))
    assert out.shape == (4,) and h.shape == (4, game.D.net.feature_dim)


def test_mlp_cgan_concatenates_one_hot_vectors():
    game = make("cgan", arch="mlp")
    assert first_layer(game.G).in_features == 100 + K
    assert first_layer(game.D.net).in_features == 28 * 28 + K
    x = torch.zeros(3, *SHAPE)
    y = torch.tensor([0, 4, 9])
    cond = game.scheme.d_condition(x, y, flat=True)
    assert cond.shape == (3, 28 * 28 + K)
    assert torch.equal(cond[:, 28 * 28 :], F.one_hot(y, K).float())


def test_conv_cgan_label_maps_are_one_hot_planes():
    game = make("cgan")
    x = torch.zeros(2, *SHAPE)
    cond = game.scheme.d_condition(x, torch.tensor([3, 7]), flat=False)
    assert cond.shape == (2, 1 + K, 28, 28)
    assert cond[0, 1 + 3].min() == 1 and cond[0, 1:].sum() == 28 * 28
    assert cond[1, 1 + 7].min() == 1 and cond[1, 1 + 3].max() == 0


def test_generator_input_places_the_label_after_z():
    game = make("cgan")
    z = torch.randn(2, 100)
    inp = game.g_input({"z": z, "y": torch.tensor([2, 5])})
    assert torch.equal(inp[:, :100], z)
    assert torch.equal(inp[:, 100:].argmax(1), torch.tensor([2, 5]))
    assert inp[:, 100:].sum().item() == 2


def test_labelled_conditioning_needs_classes():
    cfg = get_recipe("acgan").config(g_width=8, d_width=8)
    with pytest.raises(ConfigError, match="needs a labelled dataset"):
        build_game(cfg, SHAPE, 0)


def test_conditional_d_step_refuses_a_batch_without_labels():
    game = make("cgan")
    images, _ = batch()
    with pytest.raises(ConfigError, match="needs labels"):
        game.d_loss((images, None), 0)


def test_matching_aware_d_sees_real_images_with_wrong_labels(monkeypatch):
    game = make("cgan-matching")
    images, labels = batch(32)
    calls: list[tuple[torch.Tensor, torch.Tensor]] = []
    original = game.critic

    def spy(x, y=None):
        calls.append((x.detach().clone(), None if y is None else y.clone()))
        return original(x, y)

    monkeypatch.setattr(game, "critic", spy)
    loss, logs, _ = game.d_loss((images, labels), 0)
    real = images.float() * (2 / 255) - 1
    real_calls = [(x, y) for x, y in calls if torch.allclose(x, real)]
    assert len(real_calls) == 2  # (real, true label) and (real, wrong label)
    assert torch.equal(real_calls[0][1], labels)
    wrong = real_calls[1][1]
    assert (wrong != labels).all()  # every pair is mismatched
    assert wrong.min() >= 0 and wrong.max() < K
    assert len(set(wrong.tolist())) > 3  # random wrong labels, not a fixed shift
    assert "d_mismatch" in logs and torch.isfinite(loss)


def test_matching_loss_averages_the_two_kinds_of_fake():
    """Reed et al. (2016): log D(x, y) + 1/2 [log(1 - D(x, y')) + log(1 - D(G(z), y))]."""
    from ganforge import losses

    r, f, m = torch.tensor([0.3, -0.2]), torch.tensor([1.0, -1.0]), torch.tensor([0.5, 2.0])
    expected = F.softplus(-r).mean() + 0.5 * (F.softplus(f).mean() + F.softplus(m).mean())
    assert losses.minimax_d(r, torch.cat([f, m])).item() == pytest.approx(expected.item())


def test_acgan_classifier_head_and_losses():
    game = make("acgan")
    images, labels = batch()
    assert game.D.aux.out_features == K
    loss, logs, _ = game.d_loss((images, labels), 0)
    assert "aux" in logs and logs["aux"].item() > 0
    loss.backward()
    assert game.D.aux.weight.grad is not None and game.D.aux.weight.grad.abs().sum() > 0
    game.zero_grad(set_to_none=True)
    game.D.requires_grad_(False)
    g_loss, _ = game.g_loss((images, labels), 0)
    g_loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in game.G.parameters())


def test_projection_output_is_psi_plus_inner_product():
    game = make("projection")
    game.eval()
    x = torch.randn(3, *SHAPE)
    y1, y2 = torch.tensor([0, 1, 2]), torch.tensor([5, 6, 7])
    out1, h = game.critic(x, y1)
    out2, _ = game.critic(x, y2)
    emb = game.D.embed.weight
    diff = ((emb[y1] - emb[y2]) * h).sum(1)
    assert torch.allclose(out1 - out2, diff, atol=1e-5)
    psi = game.D.net.head(h).squeeze(1)
    assert torch.allclose(out1, psi + (emb[y1] * h).sum(1), atol=1e-5)


def test_infogan_q_head_shares_the_body_and_trains_g():
    game = make("infogan")
    assert game.D.q[0].in_features == game.D.net.feature_dim
    assert game.D.q[-1].out_features == 10 + 2
    images, labels = batch()
    loss, logs, _ = game.d_loss((images, labels), 0)
    assert "info" in logs and logs["info"].item() > 0
    loss.backward()
    body = [p for p in game.D.net.body.parameters() if p.grad is not None]
    assert body and game.D.q[0].weight.grad.abs().sum() > 0
    game.zero_grad(set_to_none=True)
    game.D.requires_grad_(False)
    g_loss, _ = game.g_loss((images, labels), 0)
    g_loss.backward()
    assert all(p.grad is None for p in game.D.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in game.G.parameters())


def test_infogan_info_loss_is_ce_plus_gaussian_nll():
    game = make("infogan")
    h = torch.randn(4, game.D.net.feature_dim)
    cat, cont = torch.tensor([0, 3, 9, 1]), torch.rand(4, 2) * 2 - 1
    q = game.D.q(h)
    expected = F.cross_entropy(q[:, :10], cat) + 0.5 * (q[:, 10:] - cont).pow(2).sum(1).mean()
    loss = game.scheme.info_loss(game.D.q, h, {"cat": cat, "cont": cont})
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_fixed_inputs_classes_and_codes():
    game = make("cgan")
    inputs = game.fixed_inputs(6, 0, classes=[3, 7])
    assert inputs["y"].tolist() == [3, 7, 3, 7, 3, 7]
    with pytest.raises(ConfigError, match="class 10 out of range"):
        game.fixed_inputs(4, 0, classes=[10])
    with pytest.raises(ConfigError, match="--code needs an InfoGAN run"):
        game.fixed_inputs(4, 0, codes={1: 0.5})
    info = make("infogan")
    inputs = info.fixed_inputs(5, 0, codes={0: 4, 2: -0.75})
    assert inputs["cat"].tolist() == [4] * 5
    assert torch.equal(inputs["cont"][:, 1], torch.full((5,), -0.75))
    with pytest.raises(ConfigError, match="--class needs a conditional run"):
        info.fixed_inputs(4, 0, classes=[1])


def test_infogan_evaluation_codes_follow_the_prior_and_grids_keep_their_pattern(runs):
    """Samples for sample/eval/FD draw the categorical code uniformly; only the picture grid
    uses the row pattern (which gave codes 0-1 13.2 % each of 10,000 samples; issue 16.5)."""
    from ganforge.api import load_run

    info = make("infogan")
    shares = torch.bincount(info.fixed_inputs(10_000, 0)["cat"], minlength=10) / 10_000
    assert (shares - 0.1).abs().max() < 0.015, shares
    grid = info.fixed_inputs(100, 0, grid=True)["cat"]
    assert grid.tolist() == [i // 10 for i in range(100)]
    # what `ganforge sample`/`eval` draw through the API: the prior too
    run = load_run(runs["infogan"])
    seen = []
    run.game.render = lambda G, inputs: (
        seen.append(inputs["cat"]) or torch.zeros(len(inputs["cat"]), 1, 28, 28)
    )
    run.sample(10_000, seed=1, batch_size=10_000)
    shares = torch.bincount(torch.cat(seen), minlength=10) / 10_000
    assert (shares - 0.1).abs().max() < 0.015, shares


def test_conditional_penalty_interpolates_real_and_fake_of_one_class():
    """With a penalty, fakes take the real batch's labels, so every interpolate joins two
    images of one class, as Gulrajani et al.'s conditional code (issue 16.9)."""
    game = make("cgan", penalty="gp", d_norm="layer", loss="wasserstein")
    seen = []
    orig = game.g_input
    game.g_input = lambda inputs: seen.append(inputs["y"]) or orig(inputs)
    images, labels = batch(8)
    game.d_loss((images, labels), 0)
    assert torch.equal(seen[0], labels)
    plain = make("cgan")
    plain.g_input = lambda inputs: seen.append(inputs["y"]) or orig(inputs)
    plain.d_loss((images, labels), 0)
    assert not torch.equal(seen[1], labels)  # without a penalty: labels from the prior


# -- the CLI ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three tiny runs (2 steps each) to sample from; Fashion-MNIST is decoded once."""
    from ganforge.cli import main
    from ganforge.data import load_dataset

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("cond")
    data = load_dataset("fashion-mnist", "train", None, 0, 0)
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("ganforge.training.trainer.load_dataset", lambda *a, **k: data)
        for recipe in ("dcgan", "cgan", "infogan"):
            args = ["train", recipe, "--steps", "2", "--out", str(root / recipe), *TINY]
            assert main([*args, "--set", "sample_every=100"]) == 0
            out[recipe] = root / recipe
    torch.set_num_threads(before)
    return out


def test_sample_class_draws_the_requested_class(cli, runs, tmp_path):
    a, b, c = tmp_path / "a.npy", tmp_path / "b.npy", tmp_path / "c.npy"
    assert cli("sample", runs["cgan"], "--n", "6", "--class", "3", "--out", a)[0] == 0
    assert cli("sample", runs["cgan"], "--n", "6", "--class", "3", "--out", b)[0] == 0
    rc, out, _ = cli("sample", runs["cgan"], "--n", "6", "--class", "1,5", "--out", c)
    assert rc == 0 and "wrote 6 samples" in out
    x3, x3b, x15 = np.load(a), np.load(b), np.load(c)
    assert x3.shape == (6, 1, 28, 28) and np.array_equal(x3, x3b)
    assert not np.allclose(x3, x15)  # the label changes the images for the same z
    from ganforge import api

    run = api.load_run(runs["cgan"], device="cpu")
    inputs = run.game.fixed_inputs(6, 0, run.device, classes=[1, 5])
    assert inputs["y"].tolist() == [1, 5, 1, 5, 1, 5]


@pytest.mark.parametrize(
    "recipe, args, message",
    [
        ("cgan", ["--class", "10"], "class 10 out of range: this run has classes 0..9"),
        ("cgan", ["--class", "-1"], "class -1 out of range"),
        ("cgan", ["--class", "three"], "bad --class 'three'"),
        ("dcgan", ["--class", "2"], "--class needs a conditional run"),
        ("cgan", ["--code", "1=0.5"], "--code needs an InfoGAN run"),
        ("infogan", ["--code", "5=0.5"], "bad --code 5"),
        ("infogan", ["--code", "0=10"], "code 0 is categorical: value must be 0..9"),
        ("infogan", ["--code", "x"], "bad --code 'x'"),
        ("infogan", ["--code", "1"], "bad --code '1'"),
    ],
)
def test_class_and_code_errors(cli, runs, tmp_path, recipe, args, message):
    rc, _, err = cli("sample", runs[recipe], "--n", "4", "--out", tmp_path / "x.npy", *args)
    assert rc == 2
    assert err.startswith("ganforge: error: ") and message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.npy").exists()


def test_code_varies_one_latent_code(cli, runs, tmp_path):
    files = {}
    for value in ("-1", "1"):
        files[value] = tmp_path / f"c{value}.npy"
        rc, _, _ = cli(
            "sample",
            runs["infogan"],
            "--n",
            "4",
            "--code",
            f"1={value}",
            "--code",
            "0=2",
            "--out",
            files[value],
        )
        assert rc == 0
    lo, hi = np.load(files["-1"]), np.load(files["1"])
    assert lo.shape == hi.shape == (4, 1, 28, 28)
    assert not np.allclose(lo, hi)


# -- tricks -------------------------------------------------------------------------------
def test_instance_noise_is_annealed_linearly_to_zero():
    game = make("dcgan", instance_noise=0.5, instance_noise_steps=100)
    x = torch.zeros(20000)
    assert game.d_input(x, 0).std().item() == pytest.approx(0.5, rel=0.03)
    assert game.d_input(x, 50).std().item() == pytest.approx(0.25, rel=0.03)
    assert torch.equal(game.d_input(x, 100), x) and torch.equal(game.d_input(x, 500), x)


def test_optimiser_per_recipe_and_separate_learning_rates():
    from ganforge.training.trainer import make_optimizer

    params = [torch.nn.Parameter(torch.zeros(2))]
    wgan = get_recipe("wgan").config()
    opt = make_optimizer(wgan, params, wgan.lr_d)
    assert isinstance(opt, torch.optim.RMSprop) and opt.param_groups[0]["lr"] == 5e-5
    gp = get_recipe("wgan-gp").config()
    opt = make_optimizer(gp, params, gp.lr_d)
    assert isinstance(opt, torch.optim.Adam) and opt.param_groups[0]["betas"] == (0.0, 0.9)
    ttur = get_recipe("dcgan").config(lr_g=1e-4, lr_d=4e-4)
    assert (ttur.lr_g, ttur.lr_d) == (1e-4, 4e-4)


def test_schemes_come_from_one_registry_and_refuse_unknown_names():
    from ganforge.conditioning import CONDITIONING, LABELLED, build_conditioning
    from ganforge.config import CONDITIONING as CHOICES

    assert tuple(CONDITIONING) == CHOICES
    assert LABELLED == ("concat", "matching", "acgan", "projection", "cbn")
    cfg = get_recipe("cgan").config()
    assert type(build_conditioning(cfg, K)).__name__ == "Concat"
    cfg.conditioning = "labels"  # bypassing validation: the registry still refuses it
    with pytest.raises(ConfigError, match="bad value 'labels' for 'conditioning'"):
        build_conditioning(cfg, K)
