"""Truncated sampling plumbing (``sample --truncation``, ``api.sample(truncation=)``) and the
truncation sweep of ``ganforge eval``, with a test-only game that has a truncation trick."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge import api
from ganforge.cli import main
from ganforge.games import GAMES
from ganforge.games.adversarial import AdversarialGame
from ganforge.metrics.evaluate import evaluate_images
from ganforge.metrics.truncation_sweep import parse_values
from robust_util import TINY, error_line

CALLS: list[float] = []


class TruncatingGame(AdversarialGame):
    """The adversarial game plus BigGAN's truncation trick (Brock et al. 2019): the z entries
    with |z| > value are redrawn from N(0, 1) until none is left. Records every value."""

    def truncate(self, inputs, value, generator):
        if value <= 0:
            raise api.GanforgeError(f"bad truncation {value}: must be > 0")
        CALLS.append(value)
        z = inputs["z"].clone()
        bad = z.abs() > value
        while bad.any():
            z[bad] = torch.randn(int(bad.sum()), generator=generator)
            bad = z.abs() > value
        return {**inputs, "z": z}


@pytest.fixture
def truncating(monkeypatch):
    """Runs load with :class:`TruncatingGame` (same networks, so same checkpoints)."""
    monkeypatch.setitem(GAMES, "adversarial", TruncatingGame)
    CALLS.clear()
    yield CALLS


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("trunc")
    for recipe in ("cgan", "dcgan"):
        argv = ["train", recipe, "--steps", "2", "--out", str(root / recipe), *TINY]
        assert main(argv) == 0
    return root


def test_truncation_calls_the_game_and_changes_the_samples(runs, truncating, monkeypatch):
    seen = []
    render = AdversarialGame.render
    monkeypatch.setattr(
        AdversarialGame, "render", lambda self, G, x: seen.append(x["z"]) or render(self, G, x)
    )
    plain = api.sample(runs / "cgan", 8, seed=3)
    assert truncating == []  # untruncated sampling never calls truncate
    cut = api.sample(runs / "cgan", 8, seed=3, truncation=0.5)
    assert truncating == [0.5]
    assert seen[1].abs().max() <= 0.5 and seen[0].abs().max() > 0.5
    assert cut.shape == plain.shape and not torch.equal(cut, plain)
    again = api.sample(runs / "cgan", 8, seed=3, truncation=0.5)
    assert torch.equal(cut, again)  # the resampling has its own seeded generator
    kept = ~(seen[0].abs() > 0.5)  # entries inside the threshold are kept as they were
    assert torch.equal(seen[1][kept], seen[0][kept])


def test_cli_sample_truncation_matches_the_api(cli, runs, truncating, tmp_path):
    out = tmp_path / "t.npy"
    rc, _, err = cli("sample", runs / "cgan", "--n", "6", "--truncation", "1.5", "--out", out)
    assert rc == 0, err
    assert np.array_equal(np.load(out), api.sample(runs / "cgan", 6, truncation=1.5).numpy())
    png = tmp_path / "t.png"
    rc, _, err = cli("sample", runs / "cgan", "--n", "4", "--truncation", "1", "--out", png)
    assert rc == 0 and Image.open(png).size[0] > 28
    assert truncating == [1.5, 1.5, 1.0]


@pytest.mark.parametrize("out", ["x.npy", "x.png"])
def test_truncation_refused_for_dcgan_with_one_line(cli, runs, tmp_path, out):
    rc, _, err = cli("sample", runs / "dcgan", "--truncation", "0.7", "--out", tmp_path / out)
    assert rc == 2
    assert error_line(err) == (
        "ganforge: error: truncation needs a recipe with a truncation trick (stylegan: toward "
        "the average w; biggan: resampled z); this run has none: drop --truncation"
    )
    assert not (tmp_path / out).exists() and not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize("value, message", [("nan", "must be a finite number"), ("-1", "> 0")])
def test_bad_truncation_values(cli, runs, truncating, tmp_path, value, message):
    rc, _, err = cli("sample", runs / "cgan", "--truncation", value, "--out", tmp_path / "x.npy")
    assert rc == 2 and message in error_line(err)


def test_sweep_writes_json_and_png_one_row_per_value(cli, runs, truncating):
    run = runs / "cgan"
    rc, out, err = cli(
        "eval", run, "--truncation-sweep", "2.0,0.5,1.0", "--n", "64", "--allow-small", "--json"
    )
    assert rc == 0, err
    rows = json.loads(out.strip().splitlines()[-1])
    assert [r["truncation"] for r in rows] == [2.0, 0.5, 1.0]  # in the order given
    assert truncating == [2.0, 0.5, 1.0]
    saved = json.loads((run / "truncation.json").read_text())
    assert saved["rows"] == rows and saved["n"] == 64
    for row in rows:
        assert set(row) == {"truncation", "fid", "is", "precision", "recall"}
        assert row["fid"] > 0 and 1 <= row["is"] <= 10 and 0 <= row["recall"] <= 1
    table = [ln.split() for ln in out.splitlines() if ln.strip().startswith(("2", "0.5", "1 "))]
    assert len(table) == 3
    with Image.open(run / "truncation.png") as im:
        assert im.format == "PNG" and im.size == (960, 380)
    # a row is the plain evaluation of that value's truncated samples
    images = api.sample(run, 64, truncation=0.5)
    direct = evaluate_images(images, "fashion-mnist", ["fid", "is", "pr"])
    assert rows[1]["fid"] == direct["fid"] and rows[1]["precision"] == direct["precision"]


def test_sweep_refused_for_dcgan_and_with_metrics(cli, runs):
    run = runs / "dcgan"
    rc, _, err = cli("eval", run, "--truncation-sweep", "0.5,1", "--n", "64", "--allow-small")
    assert rc == 2 and "truncation needs a recipe with a truncation trick" in error_line(err)
    assert not (run / "truncation.png").exists() and not (run / "truncation.json").exists()
    rc, _, err = cli("eval", run, "--truncation-sweep", "1", "--metrics", "kid")
    assert rc == 2 and error_line(err).endswith("drop --metrics")
    rc, _, err = cli("eval", run, "--truncation-sweep", "1", "--n", "64")
    assert rc == 2 and "--allow-small" in error_line(err)


@pytest.mark.parametrize("text", ["", "a,b", "1,inf"])
def test_sweep_values_are_checked(text):
    with pytest.raises(api.GanforgeError, match="--truncation-sweep"):
        parse_values(text)


def test_eval_without_truncation_scores_untruncated_samples(runs, truncating):
    """The metrics of a run are those of G's untruncated samples, exactly as before."""
    run = runs / "cgan"
    scores = api.evaluate(run, "fid,is,pr", n=64, allow_small=True)
    assert truncating == []
    loaded = api.load_run(run, device="cpu")
    inputs = loaded.game.fixed_inputs(64, 0, loaded.device)  # the sampling of `ganforge eval`
    images = loaded.game.render(loaded.G, inputs).clamp(-1, 1)
    direct = evaluate_images(images, "fashion-mnist", ["fid", "is", "pr"])
    direct.pop("info")
    assert scores == direct
