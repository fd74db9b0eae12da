"""Toy mode-collapse benchmark: data, metrics, float batches, unrolling, CLI."""

from __future__ import annotations

import json
import math

import pytest
import torch

from ganforge.data.toy import ToyBatches, get_toy, grid25, ring8
from ganforge.errors import DataError
from ganforge.games.adversarial import AdversarialGame
from ganforge.metrics.toy import mean_se, mode_metrics
from ganforge.toy import toy_config

SMALL = ["--set", "g_width=16", "--set", "d_width=16", "--set", "batch_size=32"]


def test_ring8_means_and_sigma_exact():
    mix = ring8()
    k = torch.arange(8, dtype=torch.float64)
    expected = torch.stack([torch.cos(2 * math.pi * k / 8), torch.sin(2 * math.pi * k / 8)], 1)
    assert torch.equal(mix.means, expected)
    assert mix.sigma == 0.01
    assert torch.cdist(mix.means, mix.means).add(torch.eye(8)).min() > 0.7  # 8 distinct points


def test_grid25_means_and_sigma_exact():
    mix = grid25()
    assert mix.sigma == 0.05
    got = {tuple(m) for m in mix.means.tolist()}
    assert got == {(float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert len(got) == 25


@pytest.mark.parametrize("make", [ring8, grid25])
def test_samples_have_the_mixture_statistics(make):
    mix = make()
    x = mix.sample(40_000, torch.Generator().manual_seed(1))
    d, idx = torch.cdist(x.double(), mix.means).min(1)
    resid = x.double() - mix.means[idx]
    assert resid.std().item() == pytest.approx(mix.sigma, rel=0.03)
    counts = torch.bincount(idx, minlength=mix.num_modes).double() / len(x)
    assert (counts - 1 / mix.num_modes).abs().max() < 0.01


def test_batches_are_fresh_floats():
    b = ToyBatches(ring8(), 64, seed=0)
    x1, y = next(b)
    x2, _ = next(b)
    assert x1.shape == (64, 2) and x1.dtype == torch.float32 and y is None
    assert not torch.equal(x1, x2)
    with pytest.raises(DataError, match="choose from ring8, grid25"):
        get_toy("ring9")


def test_metrics_all_modes_uniform():
    mix = ring8()
    x = mix.means.repeat(300, 1) + 0.5 * mix.sigma  # every mode the same share, inside 3σ
    m = mode_metrics(x, mix.means, mix.sigma)
    assert m == {"modes": 8.0, "high_quality": 1.0, "reverse_kl": pytest.approx(0.0, abs=1e-12)}
    g = grid25()
    m = mode_metrics(g.means.repeat(100, 1), g.means, g.sigma)
    assert m["modes"] == 25.0 and m["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_metrics_collapsed_and_low_quality():
    mix = ring8()
    one = mix.means[3].repeat(1000, 1)
    far = torch.full((1000, 2), 5.0)  # not within 3σ of any mode
    m = mode_metrics(torch.cat([one, far]), mix.means, mix.sigma)
    assert m["modes"] == 1.0
    assert m["high_quality"] == 0.5
    assert m["reverse_kl"] == pytest.approx(math.log(8))
    # 3σ boundary: 2.9σ counts, 3.1σ does not
    edge = torch.stack(
        [mix.means[0] + torch.tensor([2.9 * 0.01, 0]), mix.means[1] + torch.tensor([3.1 * 0.01, 0])]
    )
    m = mode_metrics(edge, mix.means, mix.sigma)
    assert m["high_quality"] == 0.5 and m["modes"] == 1.0
    # two modes, 3:1 shares: KL = 3/4 log(3/4 * 8) + 1/4 log(1/4 * 8)
    x = torch.cat([mix.means[0].repeat(3, 1), mix.means[5].repeat(1, 1)])
    expected = 0.75 * math.log(6) + 0.25 * math.log(2)
    assert mode_metrics(x, mix.means, mix.sigma)["reverse_kl"] == pytest.approx(expected)
    assert mode_metrics(far, mix.means, mix.sigma) == {
        "modes": 0.0,
        "high_quality": 0.0,
        "reverse_kl": pytest.approx(math.log(8)),
    }


def test_mean_se():
    assert mean_se([1.0, 2.0, 3.0]) == {"mean": 2.0, "se": pytest.approx(1 / math.sqrt(3))}
    assert mean_se([4.0]) == {"mean": 4.0, "se": 0.0}


def test_game_accepts_float_batches_unscaled():
    cfg = toy_config("gan", "grid25", g_width=8, d_width=8)
    game = AdversarialGame(cfg, (2,))
    x = grid25().sample(16)
    seen = {}
    orig = game.critic

    def spy(inp, y=None):
        seen.setdefault("first", inp.clone())
        return orig(inp, y)

    game.critic = spy
    loss, _, _ = game.d_loss((x, None), 0)
    assert torch.isfinite(loss)
    assert torch.equal(
        seen["first"][: len(x)], x
    )  # real first (joint pass); no uint8 -> [-1, 1] rescaling of float data


def test_unrolled_g_loss_looks_ahead_and_leaves_d_alone():
    torch.manual_seed(0)
    batch = (ring8().sample(32, torch.Generator().manual_seed(0)), None)
    losses = {}
    for k in (0, 3):
        torch.manual_seed(0)
        cfg = toy_config("gan", "ring8", g_width=8, d_width=8, g_norm="none", unroll=k, lr_d=0.05)
        game = AdversarialGame(cfg, (2,))
        game.d_optimizer = torch.optim.Adam(game.D.parameters(), lr=0.05)
        before = [p.detach().clone() for p in game.D.parameters()]
        game.d_loss(batch, 0)
        game.D.requires_grad_(False)
        loss, _ = game.g_loss(batch, 0)
        loss.backward()
        assert all(torch.equal(a, p) for a, p in zip(before, game.D.parameters(), strict=True))
        assert all(p.grad is not None for p in game.G.parameters())
        losses[k] = loss.item()
    assert losses[3] != pytest.approx(losses[0], abs=1e-4)


@pytest.mark.parametrize("d_setting", [{"d_norm": "batch"}, {"spectral_norm": True}])
def test_unrolled_look_ahead_leaves_d_buffers_alone(d_setting):
    """BatchNorm statistics and spectral norm's power-iteration vectors of D end G's step as
    after a plain (unroll=0) G step: the look-ahead moves none of them (issue 16.9)."""
    batch = (ring8().sample(32, torch.Generator().manual_seed(0)), None)
    buffers = {}
    for k in (0, 3):
        torch.manual_seed(0)
        cfg = toy_config("gan", "ring8", g_width=8, d_width=8, unroll=k, **d_setting)
        game = AdversarialGame(cfg, (2,))
        game.d_optimizer = torch.optim.Adam(game.D.parameters(), lr=0.05)
        game.d_loss(batch, 0)
        game.D.requires_grad_(False)
        game.g_loss(batch, 0)[0].backward()
        buffers[k] = dict(game.D.named_buffers())
    assert buffers[0]
    for n, b in buffers[3].items():
        assert torch.equal(buffers[0][n], b), n


def test_toy_cli_json_seeds_and_pictures(cli, tmp_path):
    rc, out, err = cli(
        "toy",
        "gan",
        "--dataset",
        "ring8",
        "--steps",
        "15",
        "--seeds",
        "2",
        "--json",
        "--out",
        tmp_path / "t",
        *SMALL,
    )
    assert rc == 0, err
    res = json.loads(out.strip().splitlines()[-1])
    for key in ("modes", "high_quality", "reverse_kl"):
        assert set(res[key]) == {"mean", "se"}
        assert res[key]["se"] >= 0
    assert 0 <= res["high_quality"]["mean"] <= 1 and 0 <= res["modes"]["mean"] <= 8
    assert res["recipe"] == "gan" and res["seeds"] == 2 and res["steps"] == 15
    assert [s["seed"] for s in res["per_seed"]] == [0, 1]
    for name in ("samples.png", "snapshots.png"):
        assert (tmp_path / "t" / name).stat().st_size > 1000
    saved = json.loads((tmp_path / "t" / "result.json").read_text())
    assert saved["modes"] == res["modes"]
    rc, out, _ = cli(
        "toy", "--dataset", "grid25", "--steps", "5", "--json", "--out", tmp_path / "u", *SMALL
    )
    res = json.loads(out.strip().splitlines()[-1])
    assert rc == 0 and isinstance(res["modes"], float)
    from ganforge.toy import BEST_RECIPE

    assert res["recipe"] == BEST_RECIPE["grid25"] and 0 < res["acceptance"] <= 1  # DRS


def test_toy_drs_scores_the_filtered_samples_and_reports_g_alone(cli):
    rc, out, err = cli(
        "toy", "gan", "--dataset", "ring8", "--steps", "20", "--json",
        "--set", "rejection=drs", *SMALL,
    )  # fmt: skip
    assert rc == 0, err
    res = json.loads(out.strip().splitlines()[-1])
    assert 0 < res["acceptance"] <= 1
    assert set(res["generator"]) == {"modes", "high_quality", "reverse_kl"}
    assert 0 <= res["generator"]["high_quality"] <= 1
    rc, _, err = cli("toy", "wgan", "--dataset", "ring8", "--set", "rejection=drs")
    assert rc == 2 and "rejection=drs does not work with loss=wasserstein" in err
    # with a classifier fitted after training, any loss can be filtered
    rc, out, err = cli(
        "toy", "wgan", "--dataset", "ring8", "--steps", "5", "--json", "--set", "rejection=drs",
        "--set", "drs_calibration=30", *SMALL,
    )  # fmt: skip
    assert rc == 0, err
    res = json.loads(out.strip().splitlines()[-1])
    assert 0 < res["acceptance"] <= 1 and set(res["generator"]) == {
        "modes",
        "high_quality",
        "reverse_kl",
    }


def test_toy_defaults_filter_with_a_calibrated_classifier():
    from ganforge.toy import BEST_SETTINGS, BEST_STEPS, toy_config

    for ds in ("ring8", "grid25"):
        cfg = toy_config("gan", ds, steps=BEST_STEPS[ds], **BEST_SETTINGS[ds])
        assert cfg.rejection == "drs" and cfg.drs_calibration >= 500 and cfg.drs_fourier > 0
        assert cfg.steps * cfg.d_steps <= 4000  # the 60-second budget on 2 cores


def test_toy_default_on_ring8_is_the_best_setting_with_drs(cli, tmp_path):
    rc, out, err = cli("toy", "--dataset", "ring8", "--steps", "10", "--json", *SMALL)
    assert rc == 0, err
    res = json.loads(out.strip().splitlines()[-1])
    assert res["recipe"] == "gan" and res["steps"] == 10 and 0 < res["acceptance"] <= 1
    rc, out, err = cli(
        "toy", "--dataset", "ring8", "--steps", "10", "--json", "--set", "rejection=none", *SMALL
    )
    assert rc == 0 and "acceptance" not in json.loads(out.strip().splitlines()[-1])


def test_toy_cli_errors(cli, tmp_path):
    rc, _, err = cli("toy", "acgan", "--dataset", "ring8", "--out", tmp_path)
    assert rc == 2 and "class-conditional" in err and "Traceback" not in err
    for recipe in ("pix2pix", "cyclegan"):
        rc, _, err = cli("toy", recipe, "--dataset", "ring8", "--out", tmp_path)
        assert rc == 2 and "translates images" in err and "choose from gan," in err
        assert "pix2pix" not in err.split("choose from")[1]
    rc, _, err = cli("toy", "nope", "--dataset", "ring8", "--out", tmp_path)
    assert rc == 2 and "unknown recipe 'nope'" in err
    rc, _, err = cli("toy", "gan", "--dataset", "moons", "--out", tmp_path)
    assert rc == 2 and "ganforge: error:" in err
    rc, _, err = cli("toy", "gan", "--dataset", "ring8", "--seeds", "0", "--out", tmp_path)
    assert rc == 2 and "--seeds" in err


def test_toy_honours_the_threads_key(cli):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        rc, out, err = cli(
            "toy", "gan", "--dataset", "ring8", "--steps", "3", "--json",
            "--set", "threads=1", *SMALL,
        )  # fmt: skip
        assert rc == 0, err
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_toy_never_writes_over_a_users_files(cli, tmp_path, monkeypatch):
    args = ["toy", "gan", "--dataset", "ring8", "--steps", "3", "--json", *SMALL]
    rc, _, err = cli(*args, "--out", tmp_path / "r")
    assert rc == 0, err
    first = (tmp_path / "r" / "result.json").read_text()
    rc, _, err = cli(*args, "--out", tmp_path / "r")  # taken: refused, nothing touched
    assert rc == 2 and "--out" in err and "exists and is not empty" in err and "--force" in err
    assert "Traceback" not in err and (tmp_path / "r" / "result.json").read_text() == first
    rc, _, err = cli(*args, "--out", tmp_path / "r", "--force")  # an earlier result: replaced
    assert rc == 0, err
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    rc, _, err = cli(*args, "--out", mine, "--force")  # not a result folder: never
    assert rc == 2 and "holds no earlier result" in err
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    # the default folder gets a suffix when it is taken
    monkeypatch.chdir(tmp_path)
    for expected in ("toy-ring8-gan", "toy-ring8-gan-2"):
        rc, out, err = cli("toy", "gan", "--dataset", "ring8", "--steps", "3", *SMALL)
        assert rc == 0, err
        assert out.strip().splitlines()[-1] == f"pictures: runs/{expected}"
        assert (tmp_path / "runs" / expected / "result.json").is_file()
