"""Discriminator rejection sampling: exact for the true log density ratio; config rules."""

import math

import pytest
import torch

from ganforge.config import Config
from ganforge.errors import ConfigError
from ganforge.rejection import rejection_sample


def _normal_logpdf(x, mu, s):
    return -0.5 * ((x - mu) / s) ** 2 - math.log(s * math.sqrt(2 * math.pi))


def test_exact_ratio_turns_proposals_into_the_target():
    # proposal p_g = N(0, 2^2), target p_data = N(1, 0.5^2); logit = log p_data - log p_g
    def propose(n, seed):
        return torch.randn(n, 1, generator=torch.Generator().manual_seed(seed)) * 2.0

    def logit(x):
        x = x[:, 0].double()
        return _normal_logpdf(x, 1.0, 0.5) - _normal_logpdf(x, 0.0, 2.0)

    x, stats = rejection_sample(propose, logit, 20_000, seed=3)
    assert x.shape == (20_000, 1)
    assert abs(float(x.mean()) - 1.0) < 0.02
    assert abs(float(x.std()) - 0.5) < 0.02
    # the envelope constant is max p_data/p_g = 4 e^{1/7.5}: acceptance about 1/4.57
    assert 0.19 < stats.acceptance < 0.25
    again, _ = rejection_sample(propose, logit, 20_000, seed=3)
    assert torch.equal(x, again)
    # beta = 2: accepted ∝ p_g (p_data/p_g)^2 = N(1, .25)^2 / N(0, 4): precision 8 - 1/4 = 7.75,
    # mean 8 / 7.75, std 7.75^-1/2; the reported M stays in logit units
    sharp, s2 = rejection_sample(propose, logit, 20_000, seed=3, beta=2.0)
    assert abs(float(sharp.mean()) - 8 / 7.75) < 0.02
    assert abs(float(sharp.std()) - 7.75**-0.5) < 0.015
    assert s2.acceptance < stats.acceptance
    assert abs(s2.max_logit - stats.max_logit) < 0.05


def test_gives_up_with_a_clear_error_when_nothing_is_accepted():
    def propose(n, seed):
        return torch.zeros(n, 1)

    def logit(x):  # one proposal per batch looks real, the rest are surely fake
        out = torch.full((x.shape[0],), -50.0)
        out[0] = 0.0
        return out

    with pytest.raises(RuntimeError, match="accepted only"):
        rejection_sample(propose, logit, 5000, seed=0, batch=1000, max_proposals=5000)


DRS_OK = {"rejection": "drs", "d_norm": "none"}


@pytest.mark.parametrize(
    "overrides, text",
    [
        ({"loss": "wasserstein"}, "loss=wasserstein"),
        ({"pack": 2, "batch_size": 64}, "pack=2"),
        ({"conditioning": "concat"}, "conditioning=concat"),
        # issue 16.6: D's logit is not the sampled G's density ratio
        ({"ema": 0.999}, "ema=0.999 .D's logit is the density ratio of the live G"),
        ({"label_smoothing": 0.1}, "label_smoothing=0.1"),
        ({"instance_noise": 0.1}, "instance_noise=0.1"),
        ({"d_norm": "batch"}, "d_norm=batch .D's eval-mode statistics"),
    ],
)
def test_config_refuses_drs_where_the_logit_is_no_density_ratio(overrides, text):
    with pytest.raises(ConfigError, match=text):
        Config().with_overrides({**DRS_OK, **overrides})
    assert Config().with_overrides(DRS_OK).rejection == "drs"


def test_drs_calibration_lifts_the_refusals_on_the_toys():
    """A classifier fitted after training to the sampled G (EMA or not) estimates its ratio."""
    cfg = Config().with_overrides(
        {**DRS_OK, "arch": "toy", "ema": 0.999, "d_norm": "batch", "drs_calibration": 10}
    )
    assert cfg.ema == 0.999


def test_drs_beta_must_be_positive():
    with pytest.raises(ConfigError, match="bad value 0.0 for 'drs_beta': must be > 0"):
        Config().with_overrides({**DRS_OK, "drs_beta": 0.0})
    assert Config().with_overrides({**DRS_OK, "drs_beta": 1.5}).drs_beta == 1.5


def test_m_is_a_high_percentile_of_the_burn_in_and_the_tail_above_is_counted():
    # logit = x for x ~ N(0, 1): M = the 99.99th percentile of 100,000 draws (about 3.72)
    def propose(n, seed):
        return torch.randn(n, 1, generator=torch.Generator().manual_seed(seed))

    x, stats = rejection_sample(propose, lambda x: x[:, 0], 2000, seed=1)
    assert abs(stats.max_logit - 3.719) < 0.2
    # about 0.01 % of the proposals used lie above M and were accepted outright
    assert stats.proposed == 50_000 and 1 <= stats.clipped <= 20
    # accepted ∝ N(0,1) e^x = N(1, 1) below M
    assert abs(float(x.mean()) - 1.0) < 0.08 and abs(float(x.std()) - 1.0) < 0.08


def test_fitted_classifier_logit_is_the_log_density_ratio():
    from ganforge.models.toy import ToyDiscriminator
    from ganforge.rejection import fit_ratio_classifier

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    clf = fit_ratio_classifier(
        ToyDiscriminator(1, 32, "none"),
        real=lambda n: 1.0 + 0.5 * torch.randn(n, 1, generator=gen),  # p_data = N(1, 0.5^2)
        fake=lambda n: 2.0 * torch.randn(n, 1, generator=gen),  # p_g = N(0, 2^2)
        steps=400,
    )
    assert not clf.training
    x = torch.linspace(0.0, 2.0, 21)
    true = _normal_logpdf(x.double(), 1.0, 0.5) - _normal_logpdf(x.double(), 0.0, 2.0)
    with torch.no_grad():
        est = clf(x[:, None]).reshape(-1).double()
    assert float((est - true).abs().max()) < 0.35, (est, true)


def test_fourier_features_are_a_fixed_buffer():
    from ganforge.models.toy import FourierFeatures, ToyDiscriminator

    torch.manual_seed(0)
    ff = FourierFeatures(2, 64, 3.0)
    x = torch.randn(5, 2)
    out = ff(x)
    assert out.shape == (5, 2 + 128) and torch.equal(out[:, :2], x)
    assert torch.allclose(out[:, 2:66] ** 2 + out[:, 66:] ** 2, torch.ones(5, 64))
    assert list(dict(ff.named_parameters())) == [] and "B" in ff.state_dict()
    # the spread of B is 2π × scale cycles per unit
    assert 0.8 < float(ff.B.std()) / (2 * math.pi * 3.0) < 1.2
    d = ToyDiscriminator(2, 16, "none", fourier=3.0)
    assert d(torch.randn(4, 2)).shape == (4,) and "body.1.B" in d.state_dict()


def test_calibration_lifts_the_loss_restriction_but_needs_toy_data():
    cfg = Config().with_overrides(
        {"arch": "toy", "loss": "wasserstein", "rejection": "drs", "drs_calibration": 100}
    )
    assert cfg.drs_calibration == 100
    with pytest.raises(ConfigError, match="or drs_calibration=1000 to fit a classifier"):
        Config().with_overrides({"arch": "toy", "loss": "wasserstein", "rejection": "drs"})
    with pytest.raises(ConfigError, match="drs_calibration works on the 2-D toy data only"):
        Config().with_overrides(
            {"arch": "dcgan", "d_norm": "none", "rejection": "drs", "drs_calibration": 100}
        )
    with pytest.raises(ConfigError, match="conditioning=concat"):
        Config().with_overrides(
            {"arch": "toy", "rejection": "drs", "drs_calibration": 10, "conditioning": "concat"}
        )


def test_a_drs_run_samples_through_its_discriminator(cli, tmp_path):
    import numpy as np

    from ganforge import api
    from robust_util import tiny_args, tiny_folder

    folder = tiny_folder(tmp_path / "imgs")
    run_dir = tmp_path / "run"
    rc, _, err = cli(
        *tiny_args(folder, run_dir, 30, "--set", "rejection=drs", "--set", "drs_beta=50")
    )
    assert rc == 0, err
    run = api.load_run(run_dir)
    drs, again = run.sample(300, seed=1), run.sample(300, seed=1)
    raw = run.sample(300, seed=1, rejection=False)
    assert drs.shape == raw.shape == (300, 1, 8, 8) and torch.equal(drs, again)
    assert not torch.equal(drs, raw)
    with torch.no_grad():  # what DRS keeps (sharpened by beta 50), D finds more real
        d_drs = run.game.critic(drs)[0].mean()
        d_raw = run.game.critic(raw)[0].mean()
    assert d_drs > d_raw + 0.01, (d_drs, d_raw)
    rc, out, err = cli("sample", run_dir, "--n", "20", "--out", tmp_path / "a.npy")
    assert rc == 0, err
    rc, out, err = cli("sample", run_dir, "--n", "20", "--out", tmp_path / "b.npy", "--raw")
    assert rc == 0, err
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    assert a.shape == b.shape == (20, 1, 8, 8) and not np.array_equal(a, b)
    np.testing.assert_array_equal(b, run.sample(20, 0, rejection=False).numpy())


def test_eval_scores_what_sample_gives_and_raw_skips_drs(cli, tmp_path, monkeypatch):
    from ganforge import api
    from ganforge.metrics import evaluate
    from robust_util import tiny_args, tiny_folder

    folder = tiny_folder(tmp_path / "imgs")
    run_dir = tmp_path / "run"
    rc, _, err = cli(*tiny_args(folder, run_dir, 10, "--set", "rejection=drs"))
    assert rc == 0, err
    seen = []

    def fake_scores(images, *a, **k):
        seen.append(images)
        return {"kid": 0.0, "info": {}}

    monkeypatch.setattr(evaluate, "evaluate_images", fake_scores)
    monkeypatch.setattr(evaluate, "_resolve_extractor", lambda *a, **k: None)  # checked first
    _, info = api.evaluate_with_info(run_dir, "kid", 50, dataset="x", seed=2)
    assert "rejection=drs" in info["sampling"]
    _, info_raw = api.evaluate_with_info(run_dir, "kid", 50, dataset="x", seed=2, raw=True)
    assert "sampling" not in info_raw
    run = api.load_run(run_dir)
    assert torch.equal(seen[0], run.sample(50, 2))
    assert torch.equal(seen[1], run.sample(50, 2, rejection=False))
    assert not torch.equal(seen[0], seen[1])
