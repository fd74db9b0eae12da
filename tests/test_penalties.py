"""Lipschitz regularisers: gradient penalty vs finite differences, slope, R1, clipping, SN."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganforge import penalties
from ganforge.config import Config
from ganforge.errors import ConfigError
from ganforge.models.layers import apply_spectral_norm
from robust_util import TINY


class SmoothCritic(nn.Module):
    """A fixed non-linear critic on (B, 1, 4, 4) images, in float64."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.conv = nn.Conv2d(1, 3, 3, padding=1).double()
        self.lin = nn.Linear(48, 1).double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(torch.tanh(self.conv(x)).flatten(1)).squeeze(1)


def _fd_grad_norm(critic, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """||grad_x D(x)||_2 per sample by central differences over every input coordinate."""
    flat = x.flatten(1)
    grads = torch.zeros_like(flat)
    for j in range(flat.shape[1]):
        e = torch.zeros_like(flat)
        e[:, j] = h
        up = critic((flat + e).view_as(x))
        down = critic((flat - e).view_as(x))
        grads[:, j] = (up - down) / (2 * h)
    return grads.norm(dim=1)


def test_gradient_penalty_matches_finite_differences():
    critic = SmoothCritic()
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(5, 1, 4, 4, generator=gen, dtype=torch.float64)
    fake = torch.randn(5, 1, 4, 4, generator=gen, dtype=torch.float64)
    torch.manual_seed(11)
    gp = penalties.gradient_penalty(critic, real, fake)
    torch.manual_seed(11)  # the same interpolation weights, drawn the same way
    alpha = torch.rand(5, 1, 1, 1, dtype=torch.float64)
    x_hat = alpha * real + (1 - alpha) * fake
    norms = _fd_grad_norm(critic, x_hat)
    assert norms.min() > 0.05 and (norms - 1).abs().max() > 0.05  # a non-trivial case
    assert gp.item() == pytest.approx(((norms - 1) ** 2).mean().item(), rel=1e-6)
    torch.manual_seed(11)
    one_sided = penalties.gradient_penalty(critic, real, fake, one_sided=True)
    expected = ((norms - 1).clamp(min=0) ** 2).mean().item()
    assert one_sided.item() == pytest.approx(expected, rel=1e-6, abs=1e-12)


def _linear(w: torch.Tensor):
    return lambda x: (x.flatten(1) * w.flatten()).sum(1)


def test_penalties_of_a_linear_critic_by_hand():
    """D(x) = <w, x>: the gradient is w everywhere, every slope along a line is <w, d>/||d||."""
    w = torch.full((1, 2, 2), 0.5, dtype=torch.float64)  # ||w|| = 1 ... scaled below
    w = w * 3.0  # ||w|| = 3
    real = torch.randn(6, 1, 2, 2, dtype=torch.float64)
    fake = torch.randn(6, 1, 2, 2, dtype=torch.float64)
    gp = penalties.gradient_penalty(_linear(w), real, fake)
    assert gp.item() == pytest.approx((3.0 - 1.0) ** 2)
    assert penalties.r1_penalty(_linear(w), real).item() == pytest.approx(9.0)
    # slope: both interpolates lie on the segment real-fake, so x1 - x2 is parallel to it
    d = (real - fake).flatten(1)
    slope = (d @ w.flatten()).abs() / d.norm(dim=1)
    expected = ((slope - 1) ** 2).mean().item()
    assert penalties.slope_penalty(_linear(w), real, fake).item() == pytest.approx(expected)
    # a critic with ||grad|| < 1 everywhere has no one-sided penalty
    small = w / 10
    assert penalties.gradient_penalty(_linear(small), real, fake, one_sided=True).item() == 0.0


def test_gradient_penalty_norm_is_over_all_pixels_not_one_axis():
    w = torch.zeros(1, 3, 3, dtype=torch.float64)
    w[0, :, 0] = 1.0  # gradient has norm sqrt(3) over the image, 1 along any single row
    real = torch.randn(4, 1, 3, 3, dtype=torch.float64)
    gp = penalties.gradient_penalty(_linear(w), real, real.clone())
    assert gp.item() == pytest.approx((3**0.5 - 1) ** 2)


def test_gradient_penalty_at_zero_gradient_is_finite():
    params = torch.zeros(4, requires_grad=True)

    def flat_critic(x):  # grad_x D = sum(params) = 0, yet it depends on the parameters
        return params.sum() * x.flatten(1).sum(1)

    real, fake = torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2)
    gp = penalties.gradient_penalty(flat_critic, real, fake)
    assert gp.item() == pytest.approx(1.0, abs=1e-5)
    gp.backward()
    assert torch.isfinite(params.grad).all()


def test_spectral_norm_layer_has_unit_largest_singular_value():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(20, 30), nn.LeakyReLU(0.2), nn.Conv2d(3, 8, 4, 2, 1))
    with torch.no_grad():
        net[0].weight.mul_(5.0)  # sigma far from 1 before normalisation
    assert torch.linalg.matrix_norm(net[0].weight, ord=2) > 2.0
    apply_spectral_norm(net)
    net.train()
    for _ in range(30):  # one power iteration per training-mode forward
        net[0](torch.randn(2, 20))
        net[2](torch.randn(2, 3, 8, 8))
    net.eval()
    sigma_lin = torch.linalg.matrix_norm(net[0].weight.detach(), ord=2).item()
    sigma_conv = torch.linalg.matrix_norm(net[2].weight.detach().flatten(1), ord=2).item()
    assert sigma_lin == pytest.approx(1.0, abs=0.05)
    assert sigma_conv == pytest.approx(1.0, abs=0.05)


def test_hinge_sn_discriminator_is_spectrally_normalised_everywhere():
    from ganforge.games import build_game
    from ganforge.recipes import get_recipe

    cfg = get_recipe("hinge-sn").config(g_width=8, d_width=8)
    game = build_game(cfg, (1, 28, 28), 10)
    layers = [m for m in game.D.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert layers and all(hasattr(m, "parametrizations") for m in layers)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in game.D.modules())


def test_clipped_weights_stay_in_range_after_every_step(tmp_path, monkeypatch):
    from ganforge import api
    from ganforge.games.adversarial import AdversarialGame

    seen: list[tuple[float, float]] = []
    original = AdversarialGame.after_d_step

    def checked(self):
        original(self)
        values = torch.cat([p.detach().flatten() for p in self.D.parameters()])
        seen.append((values.min().item(), values.max().item()))

    monkeypatch.setattr(AdversarialGame, "after_d_step", checked)
    summary = api.train(
        "wgan", tmp_path / "run", steps=3, g_width=8, d_width=8, batch_size=16, log_every=1
    )
    assert summary.steps == 3
    assert len(seen) == 3 * 5  # n_critic = 5 updates per generator step, each checked
    c = 0.01
    assert all(-c <= lo and hi <= c for lo, hi in seen)
    assert max(hi for _, hi in seen) == pytest.approx(c)  # the clip is active, not vacuous


@pytest.mark.parametrize("recipe", ["wgan-gp", "wgan-slope"])
def test_batchnorm_critic_with_gradient_penalty_is_refused(cli, recipe, tmp_path):
    rc, out, err = cli(
        "train", recipe, "--steps", "1", "--out", tmp_path / "r", "--set", "d_norm=batch", *TINY
    )
    assert rc == 2
    assert err.startswith("ganforge: error: d_norm=batch is not allowed with penalty=")
    assert "use d_norm=layer" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_penalty_refusal_names_the_alternatives():
    with pytest.raises(ConfigError, match="d_norm=layer, instance or none"):
        Config(penalty="gp", d_norm="batch").validate()
    Config(penalty="gp", d_norm="layer").validate()  # allowed
    with pytest.raises(ConfigError, match="penalty=r1"):  # R1 differentiates per sample too
        Config(penalty="r1", d_norm="batch").validate()
    Config(penalty="r1", d_norm="none").validate()


# -- PacGAN: every penalty on packed inputs (issue 16.4) ---------------------------------------
class PackedLinearCritic(nn.Module):
    """D(pack) = <w, flatten(pack)> with ||w|| = 1: exactly 1-Lipschitz in the packed input.
    Records what it was given."""

    def __init__(self, dim: int):
        super().__init__()
        torch.manual_seed(0)
        w = torch.randn(dim, dtype=torch.float64)
        self.w = nn.Parameter(w / w.norm())
        self.seen: list[torch.Tensor] = []

    def forward(self, x, y=None):
        self.seen.append(x.detach())
        return x.flatten(1) @ self.w, x.flatten(1)


def _packed_game(penalty: str):
    from ganforge.games.adversarial import AdversarialGame
    from ganforge.recipes import get_recipe

    cfg = get_recipe("pacgan").config(penalty=penalty, d_norm="none", g_width=8, d_width=8)
    game = AdversarialGame(cfg, (1, 4, 4))
    game.D = PackedLinearCritic(2 * 16)  # pack 2 of 1x4x4 images
    real = torch.rand(8, 1, 4, 4, dtype=torch.float64) * 2 - 1
    fake = torch.rand(8, 1, 4, 4, dtype=torch.float64) * 2 - 1
    return game, real, fake


def test_a_1_lipschitz_packed_critic_gets_no_gradient_penalty():
    """Per sample slice, the old code gave 10 (1/sqrt(2) - 1)^2 = 0.86."""
    game, real, fake = _packed_game("gp")
    value = game._penalty(real, fake, None, {})
    assert abs(float(value)) < 1e-8
    assert game.D.seen[-1].shape[1:] == (2, 4, 4)  # D saw packs


def test_slope_penalty_is_taken_between_packs():
    """The old code crashed here (D's outputs are per pack, the norms were per sample)."""
    game, real, fake = _packed_game("slope")
    value = game._penalty(real, fake, None, {})
    both = game.D.seen[-1]
    assert both.shape == (8, 2, 4, 4)  # x1 and x2: 4 packs each
    x1, x2 = both[:4], both[4:]
    slope = ((x1 - x2).flatten(1) @ game.D.w).abs() / (x1 - x2).flatten(1).norm(dim=1)
    expected = game.cfg.penalty_weight * (slope - 1).pow(2).mean()
    torch.testing.assert_close(value.detach(), expected.detach())


def test_gradient_penalty_draws_one_alpha_per_pack():
    game, real, fake = _packed_game("gp")
    game._penalty(real, fake, None, {})
    x_hat, rp, fp = game.D.seen[-1], game._pack(real), game._pack(fake)
    alpha = (x_hat - fp) / (rp - fp)
    torch.testing.assert_close(alpha, alpha[:, :1, :1, :1].expand_as(alpha))


def test_r1_on_packs_is_not_divided_by_the_pack_size():
    """||grad D||^2 = ||w||^2 = 1 per pack; weighted gamma/2 -> 0.5 * penalty_weight."""
    game, real, fake = _packed_game("r1")
    value = game._penalty(real, fake, None, {})
    assert float(value) == pytest.approx(0.5 * game.cfg.penalty_weight)


def test_toy_slope_penalty_with_packing_trains(cli, tmp_path):
    args = ["toy", "wgan-slope", "--dataset", "ring8", "--steps", "3", "--set", "pack=2"]
    rc, _, err = cli(*args, "--out", tmp_path / "t")
    assert rc == 0, err


# -- the generator-side slot: StyleGAN2's path-length regulariser ----------------------------
def test_path_length_of_a_linear_generator_is_the_norm_of_a_transposed_y():
    """G(w) = w A (flattened to 1 x 4 x 4 images): J_w^T y = A y / sqrt(16) per sample."""
    torch.manual_seed(0)
    a = torch.randn(3, 16, dtype=torch.float64)
    w = torch.randn(5, 3, dtype=torch.float64)
    mean = torch.tensor(float("nan"), dtype=torch.float64)
    torch.manual_seed(1)
    value, lengths = penalties.path_length_penalty(
        lambda v: (v @ a).reshape(-1, 1, 4, 4), w, mean, decay=0.01
    )
    torch.manual_seed(1)
    y = torch.randn(5, 1, 4, 4, dtype=torch.float64) / 4
    expected = (y.flatten(1) @ a.T).norm(dim=1)
    assert torch.allclose(lengths, expected)
    assert float(mean) == pytest.approx(float(expected.mean()))  # the first call sets a
    assert float(value) == pytest.approx(float(((expected - expected.mean()) ** 2).mean()))
    penalties.path_length_penalty(lambda v: (v @ a).reshape(-1, 1, 4, 4), w, mean, 0.5)
    assert float(mean) != pytest.approx(float(expected.mean()))  # the EMA moved


def _pl_game(**extra):
    from ganforge.games.adversarial import AdversarialGame
    from ganforge.recipes import get_recipe

    torch.manual_seed(0)
    extra = {"g_penalty": "path_length", **extra}
    cfg = get_recipe("dcgan").config(g_width=8, d_width=8, channels_last=False, **extra)
    return AdversarialGame(cfg, (1, 28, 28))


def test_lazy_path_length_acts_every_kth_step_weighted_by_k():
    game = _pl_game(g_penalty_every=2, g_penalty_weight=3.0)
    real = torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8)
    inputs = game.draw_inputs(4, "cpu")
    fakes = (game.G(game.g_input(inputs)), inputs)
    loss1, logs1 = game.g_loss((real, None), 1, fakes)
    assert "g_penalty" not in logs1 and bool(game.pl_mean.isnan())
    loss2, logs2 = game.g_loss((real, None), 2, fakes)
    assert "g_penalty" in logs2 and not bool(game.pl_mean.isnan())
    # lazy regularisation: weight 3 times every 2 on the steps where it acts
    assert float(loss2 - loss1) == pytest.approx(6 * float(logs2["g_penalty"]), rel=1e-2)
    state = game.extra_state()
    fresh = _pl_game(g_penalty_every=2, g_penalty_weight=3.0)
    fresh.load_extra_state(state)
    assert torch.equal(fresh.pl_mean, game.pl_mean)  # a resumed run keeps the target a
    game.G.zero_grad()
    loss2.backward()
    assert all(p.grad is not None for p in game.G.parameters())
    plain = _pl_game(g_penalty="none")
    assert plain.extra_state() == {}  # checkpoints without a G regulariser are unchanged


def test_path_length_keeps_g_eager_under_compile_and_is_refused_where_idle():
    from ganforge.training.compiled import compile_players, uncompile

    game = _pl_game()
    wrappers = compile_players(game, game.cfg)
    assert [w.name for w in wrappers] == ["D"]  # double backward through G: G stays eager
    uncompile(game.D)
    with pytest.raises(ConfigError, match="'g_penalty_every' has no effect here"):
        Config().with_overrides({"g_penalty_every": 4})
    with pytest.raises(ConfigError, match="'g_penalty' has no effect here"):
        Config().with_overrides({"game": "pix2pix", "arch": "unet", "g_penalty": "path_length"})


def test_path_length_gradient_reaches_the_network_that_computes_w():
    """StyleGAN2's regulariser differentiates through w = mapping(z) (the reference's gen_ws
    is not detached): the mapping's weights get a gradient from the penalty alone."""
    torch.manual_seed(0)
    mapping = nn.Linear(4, 4)
    synthesis = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 8))
    value, _ = penalties.path_length_penalty(
        synthesis, mapping(torch.randn(6, 4)), torch.tensor(1.0), 0.01
    )
    value.backward()
    assert mapping.weight.grad is not None and float(mapping.weight.grad.abs().sum()) > 0
    assert synthesis[0].weight.grad is not None


def test_path_length_forward_does_not_count_the_batch_twice_in_batchnorm():
    """The regulariser's extra forward of the step's batch leaves G's BatchNorm running
    statistics alone (they moved once, in the step's own forward)."""
    game = _pl_game(g_penalty_every=1, g_penalty_weight=1.0)
    norms = [m for m in game.G.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms
    inputs = game.draw_inputs(4, "cpu")
    fakes = (game.G(game.g_input(inputs)), inputs)
    before = [(m.running_mean.clone(), int(m.num_batches_tracked)) for m in norms]
    real = torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8)
    _, logs = game.g_loss((real, None), 1, fakes)
    assert "g_penalty" in logs
    for m, (mean, count) in zip(norms, before, strict=True):
        assert torch.equal(m.running_mean, mean) and int(m.num_batches_tracked) == count
        assert m.momentum == 0.1  # put back
