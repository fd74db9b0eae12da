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


@pytest.mark.parametrize(
    "overrides, text",
    [
        ({"loss": "wasserstein"}, "loss=wasserstein"),
        ({"pack": 2, "batch_size": 64}, "pack=2"),
        ({"conditioning": "concat"}, "conditioning=concat"),
    ],
)
def test_config_refuses_drs_where_the_logit_is_no_density_ratio(overrides, text):
    with pytest.raises(ConfigError, match=text):
        Config().with_overrides({"rejection": "drs", **overrides})
    assert Config().with_overrides({"rejection": "drs"}).rejection == "drs"


def test_drs_beta_must_be_positive():
    with pytest.raises(ConfigError, match="bad value 0.0 for 'drs_beta': must be > 0"):
        Config().with_overrides({"rejection": "drs", "drs_beta": 0.0})
    assert Config().with_overrides({"drs_beta": 1.5}).drs_beta == 1.5
