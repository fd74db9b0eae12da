import pytest

from ganforge.config import Config, parse_set_args
from ganforge.errors import ConfigError
from ganforge.recipes import RECIPES, get_recipe


def test_set_values_are_parsed_to_field_types():
    cfg = Config().with_overrides(
        {"d_steps": "3", "lr_d": "1e-4", "spectral_norm": "true", "data_dir": "none"}
    )
    assert cfg.d_steps == 3 and isinstance(cfg.d_steps, int)
    assert cfg.lr_d == pytest.approx(1e-4)
    assert cfg.spectral_norm is True
    assert cfg.data_dir is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"nope": "1"}, "unknown config key 'nope'"),
        ({"d_steps": "two"}, "bad value 'two' for 'd_steps': expected an integer"),
        ({"d_steps": "0"}, "bad value 0 for 'd_steps': must be >= 1"),
        ({"loss": "bce"}, "allowed values are non-saturating, minimax"),
        ({"lr_g": "nan"}, "bad value 'nan' for 'lr_g'"),
        ({"spectral_norm": "maybe"}, "expected true or false"),
        ({"d_norm": "group"}, "allowed values are batch, layer, instance, none"),
        ({"channels": "2"}, "'channels': allowed values are 1, 3"),
    ],
)
def test_bad_values_name_the_key_and_the_allowed_values(overrides, message):
    with pytest.raises(ConfigError, match=None) as info:
        Config().with_overrides(overrides)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_gradient_penalty_with_batchnorm_is_refused():
    with pytest.raises(ConfigError, match="d_norm=batch is not allowed with penalty=gp"):
        get_recipe("wgan-gp").config(d_norm="batch")


def test_config_round_trips_through_a_dict():
    cfg = get_recipe("wgan").config(seed=7)
    again = Config.from_dict(cfg.to_dict())
    assert again == cfg
    with pytest.raises(ConfigError, match="unknown config key 'bogus'"):
        Config.from_dict({**cfg.to_dict(), "bogus": 1})


def test_parse_set_args_requires_key_value():
    assert parse_set_args(["a=1", "b = x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_set_args(["d_steps"])


def test_recipes_have_paper_hyperparameters():
    gan, dcgan = RECIPES["gan"].config(), RECIPES["dcgan"].config()
    assert (gan.arch, gan.g_width, gan.d_width, gan.d_norm) == ("mlp", 128, 256, "none")
    assert (dcgan.lr_g, dcgan.lr_d, dcgan.beta1, dcgan.beta2) == (2e-4, 2e-4, 0.5, 0.999)
    assert (dcgan.batch_size, dcgan.z_dim, dcgan.loss) == (64, 100, "non-saturating")
    wgan = RECIPES["wgan"].config()
    assert (wgan.clip, wgan.optimizer, wgan.lr_d, wgan.d_steps) == (0.01, "rmsprop", 5e-5, 5)
    gp = RECIPES["wgan-gp"].config()
    assert (gp.penalty, gp.penalty_weight, gp.lr_d, gp.beta1, gp.beta2, gp.d_steps) == (
        "gp",
        10.0,
        1e-4,
        0.0,
        0.9,
        5,
    )
    assert gp.d_norm != "batch"
    with pytest.raises(ConfigError, match="unknown recipe 'nope'"):
        get_recipe("nope")


@pytest.mark.parametrize(
    "recipe, key, value",
    [  # issue 16.7: accepted, then ignored
        ("pix2pix", "penalty", "gp"),
        ("cyclegan", "penalty", "r1"),
        ("pix2pix", "clip", "0.01"),
        ("cyclegan", "instance_noise", "0.1"),
        ("hinge-sn", "label_smoothing", "0.1"),
        ("wgan-gp", "label_smoothing", "0.1"),
        ("projection", "label_smoothing", "0.2"),
        # and the family-specific keys outside their family
        ("dcgan", "l1_weight", "10"),
        ("dcgan", "cycle_weight", "5"),
        ("dcgan", "aux_weight", "2"),
        ("dcgan", "info_weight", "2"),
        ("gan", "self_attention", "true"),
        ("dcgan", "drs_beta", "2"),
        ("dcgan", "penalty_weight", "5"),
        ("dcgan", "compile_trial", "5"),
        ("pix2pix", "z_dim", "64"),
    ],
)
def test_keys_that_cannot_act_are_refused(recipe, key, value, cli, tmp_path):
    rc, _, err = cli("train", recipe, "--set", f"{key}={value}", "--out", tmp_path / "r")
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"'{key}' has no effect here: it acts only" in lines[0], err
    assert not (tmp_path / "r").exists()


def test_keys_in_their_family_are_accepted():
    from ganforge.recipes import get_recipe

    assert get_recipe("dcgan").config(label_smoothing=0.1).label_smoothing == 0.1
    assert get_recipe("lsgan").config(label_smoothing=0.1).label_smoothing == 0.1
    assert get_recipe("pix2pix").config(l1_weight=10.0).l1_weight == 10.0
    assert get_recipe("wgan-gp").config(penalty_weight=5.0).penalty_weight == 5.0
    assert get_recipe("dcgan").config(instance_noise=0.1, instance_noise_steps=9).instance_noise
