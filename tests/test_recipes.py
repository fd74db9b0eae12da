"""Every recipe: the hyper-parameters of its paper, documented, and 30 steps from the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.recipes import RECIPES, get_recipe
from robust_util import TINY, load_script

ROOT = Path(__file__).resolve().parents[1]
ALL = [
    "gan",
    "dcgan",
    "dcgan-cpu",  # the default (issue 19)
    "cgan",
    "cgan-matching",
    "acgan",
    "projection",
    "lsgan",
    "wgan",
    "wgan-gp",
    "wgan-slope",
    "hinge-sn",
    "infogan",
]


@pytest.fixture(scope="module")
def _loaded():
    """Fashion-MNIST decoded once for the whole module (decompressing takes ~1 s a run)."""
    from ganforge.data import load_dataset

    return {}, load_dataset


@pytest.fixture
def cached_data(_loaded, monkeypatch):
    cache, load = _loaded

    def cached(*args, **kwargs):
        key = (args, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = load(*args, **kwargs)
        return cache[key]

    monkeypatch.setattr("ganforge.training.trainer.load_dataset", cached)


# recipes of the toy benchmark (mode coverage) and image-to-image translation, tested elsewhere
EXTRA = ["pacgan", "unrolled", "pix2pix", "cyclegan"]
EXTRA += ["stargan"]  # tests/test_stargan.py
EXTRA += ["srresnet", "srgan"]  # tests/test_superres.py
EXTRA += ["progan"]  # progressive growing: tests/test_progressive.py
EXTRA += ["inpaint", "inpaint-l1"]  # context encoder (tests/test_inpaint.py)
EXTRA += ["stylegan"]  # tests/test_stylegan.py
# later families, registered from their own modules (recipes_*.py), tested in their own files
FAMILIES = ["sagan", "biggan"]


def test_every_recipe_is_registered_in_order():
    assert list(RECIPES) == ALL + EXTRA + FAMILIES


@pytest.mark.parametrize(
    "name, expected",
    [
        # Arjovsky et al. 2017, Algorithm 1: alpha 5e-5, c 0.01, n_critic 5, RMSProp
        ("wgan", dict(loss="wasserstein", clip=0.01, optimizer="rmsprop", lr_d=5e-5, d_steps=5)),
        # Gulrajani et al. 2017, Algorithm 1: lambda 10, n_critic 5, Adam 1e-4, (0, 0.9)
        (
            "wgan-gp",
            dict(
                loss="wasserstein",
                penalty="gp",
                penalty_weight=10.0,
                d_steps=5,
                optimizer="adam",
                lr_d=1e-4,
                lr_g=1e-4,
                beta1=0.0,
                beta2=0.9,
                d_norm="layer",
            ),
        ),
        ("wgan-slope", dict(loss="wasserstein", penalty="slope", penalty_weight=10.0, d_steps=5)),
        # Radford et al. 2016: Adam 2e-4, beta1 0.5
        ("dcgan", dict(optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5, d_norm="batch")),
        ("lsgan", dict(loss="least-squares", lr_g=2e-4, beta1=0.5)),
        # Miyato et al. 2018: hinge, SN, no BN in D
        ("hinge-sn", dict(loss="hinge", spectral_norm=True, d_norm="none", d_steps=1)),
        # Miyato & Koyama 2018: hinge, SN, Adam 2e-4 (0, 0.9), n_dis 5
        (
            "projection",
            dict(
                conditioning="projection",
                loss="hinge",
                spectral_norm=True,
                lr_d=2e-4,
                beta1=0.0,
                beta2=0.9,
                d_steps=5,
            ),
        ),
        # Chen et al. 2016 (MNIST): z 62, 10-way categorical, 2 continuous, lr D 2e-4, G 1e-3
        (
            "infogan",
            dict(
                conditioning="infogan",
                z_dim=62,
                info_categorical=10,
                info_continuous=2,
                lr_d=2e-4,
                lr_g=1e-3,
                info_weight=1.0,
            ),
        ),
        ("cgan", dict(conditioning="concat")),
        ("cgan-matching", dict(conditioning="matching")),
        ("acgan", dict(conditioning="acgan", aux_weight=1.0)),
        ("gan", dict(arch="mlp", g_width=128, d_width=256, loss="non-saturating")),
        # Karras et al. 2018: WGAN-GP lambda 10, drift 1e-3, Adam 1e-3 (0, 0.99), batch 16
        (
            "progan",
            dict(
                loss="wasserstein",
                penalty="gp",
                penalty_weight=10.0,
                progan_drift=1e-3,
                progan_mbstd_group=4,
                lr_g=1e-3,
                lr_d=1e-3,
                beta1=0.0,
                beta2=0.99,
                batch_size=16,
                ema=0.999,
            ),
        ),
    ],
)
def test_recipe_hyper_parameters_follow_the_paper(name, expected):
    cfg = get_recipe(name).config()
    assert {k: getattr(cfg, k) for k in expected} == expected


def test_recipes_cli_lists_every_recipe_with_its_source(cli):
    rc, out, _ = cli("recipes")
    assert rc == 0
    lines = out.strip().splitlines()
    assert len(lines) == len(ALL + EXTRA + FAMILIES)
    for name, line in zip(ALL + EXTRA + FAMILIES, lines, strict=True):
        assert line.split()[0] == name
        assert RECIPES[name].source in line


def test_docs_table_matches_the_code():
    """docs/recipes.md is generated by scripts/recipes_table.py; it must be up to date."""
    module = load_script("recipes_table")
    doc = (ROOT / "docs" / "recipes.md").read_text()
    assert module.table() in doc, "docs/recipes.md is stale: run scripts/recipes_table.py"
    for name in ALL:
        assert f"| `{name}` |" in doc


@pytest.mark.parametrize("recipe", ALL)
def test_recipe_trains_30_steps_and_samples(cli, recipe, tmp_path, cached_data):
    run = tmp_path / recipe
    rc, out, err = cli(
        "train",
        recipe,
        "--steps",
        "30",
        "--out",
        run,
        "--json",
        *TINY,
        "--set",
        "log_every=10",
        "--set",
        "sample_every=30",
    )
    assert rc == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["steps"] == 30 and summary["status"] == "finished"
    assert math.isfinite(summary["d_loss"]) and math.isfinite(summary["g_loss"])
    lines = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    assert [ln["step"] for ln in lines] == [10, 20, 30]
    for ln in lines:
        assert all(isinstance(ln[k], float) and math.isfinite(ln[k]) for k in ("d_loss", "g_loss"))
    if recipe in ("wgan-gp", "wgan-slope"):
        assert all(ln["penalty"] >= 0 for ln in lines)
    assert (run / "samples.png").stat().st_size > 0
    assert (run / "samples" / "step-000030.png").exists()
    rc, out, err = cli("sample", run, "--n", "5", "--out", tmp_path / "s.npy")
    assert rc == 0, err
    x = np.load(tmp_path / "s.npy")
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32
    assert np.isfinite(x).all() and x.min() >= -1 and x.max() <= 1 and x.std() > 0


def _precisions() -> list[str]:
    """Every --precision this machine supports: fp16 needs CUDA (refused on CPU, tested in
    test_precision_fp16_is_refused_on_cpu)."""
    return ["fp32", "bf16", *(["fp16"] if torch.cuda.is_available() else [])]


@pytest.mark.parametrize("precision", _precisions())
@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_every_recipe_trains_under_every_precision(recipe, precision, cli, tmp_path):
    """A few steps of each recipe x precision (issue 16.8: wgan-gp under bf16 crashed in the
    penalty's interpolation); losses finite."""
    size = ["--image-size", "16"] if recipe in ("pix2pix", "cyclegan") else []
    args = ["train", recipe, "--steps", "2", "--precision", precision, *TINY, *size]
    rc, _, err = cli(*args, "--batch-size", "4", "--out", tmp_path / "r")
    assert rc == 0, err
    line = json.loads((tmp_path / "r" / "metrics.jsonl").read_text().splitlines()[-1])
    assert math.isfinite(line["d_loss"]) and math.isfinite(line["g_loss"])


def test_precision_fp16_is_refused_on_cpu(cli, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("CUDA present: fp16 is allowed")
    rc, _, err = cli("train", "gan", "--precision", "fp16", "--steps", "1", "--out", tmp_path / "r")
    assert rc == 2 and "precision=fp16 needs a CUDA device" in err
