"""The Python API as the one door: evaluate's rules, load_run's errors, a real evaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ganforge
from ganforge import api
from ganforge.errors import CheckpointError, GanforgeError
from ganforge.training.loaded_run import LoadedRun

TINY = {"g_width": 8, "d_width": 8, "batch_size": 16, "report": False}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("api") / "run"
    api.train("gan", out, dataset="fashion-mnist", steps=2, **TINY)
    return out


@pytest.fixture
def no_sampling(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("sampled before refusing")

    monkeypatch.setattr(LoadedRun, "sample", refuse)


def test_evaluate_refuses_fd_on_few_samples_before_sampling(tiny_run, no_sampling):
    with pytest.raises(GanforgeError, match="FD on 100 < 2048 samples is too biased") as exc:
        api.evaluate(tiny_run, "fid", n=100)
    assert "\n" not in str(exc.value) and "--allow-small" in str(exc.value)
    with pytest.raises(GanforgeError, match="bad --n 1: must be at least 2"):
        api.evaluate(tiny_run, "fid", n=1, allow_small=True)


def test_evaluate_refuses_a_small_npy_for_fd_unless_allowed(tmp_path):
    path = tmp_path / "x.npy"
    np.save(
        path, (np.arange(50, dtype=np.uint8)[:, None, None, None] * 5).repeat(28, 2).repeat(28, 3)
    )
    with pytest.raises(GanforgeError, match="FD on 50 < 2048 samples .* use more images"):
        api.evaluate(path, "fid")
    scores, info = api.evaluate_with_info(path, "fid", allow_small=True)
    assert set(scores) == {"fid"} and math.isfinite(scores["fid"]) and scores["fid"] > 0
    assert info["n"] == 50 and "strongly biased" in info["fid_warning"]


def test_evaluate_on_a_tiny_run_returns_a_finite_fid(tiny_run):
    scores = ganforge.evaluate(tiny_run, n=64, allow_small=True)
    assert set(scores) == {"fid"} and math.isfinite(scores["fid"]) and scores["fid"] > 0
    loaded = api.load_run(tiny_run, device="cpu")
    again, info = api.evaluate_with_info(loaded, ("fid",), n=64, allow_small=True)
    assert again == scores  # a LoadedRun and its folder give the same samples and score
    assert info["target"] == f"{tiny_run} (step 2)" and info["n"] == 64
    assert info["reference"].startswith("fashion-mnist test split")


def test_evaluate_split_acts_and_is_checked(tiny_run):
    test = api.evaluate(tiny_run, "kid", n=64)
    _, info = api.evaluate_with_info(tiny_run, "kid", n=64, split="train")
    assert info["reference"].startswith("fashion-mnist train split (60000 images)")
    assert api.evaluate(tiny_run, "kid", n=64, split="train") != test
    with pytest.raises(GanforgeError, match="bad split 'val': choose test or train"):
        api.evaluate(tiny_run, "kid", n=64, split="val")
    with pytest.raises(GanforgeError, match="nn compares samples with the train split"):
        api.evaluate(tiny_run, "nn", n=64, split="train")


def test_evaluate_checks_the_split_before_sampling(tiny_run, no_sampling):
    with pytest.raises(GanforgeError, match="bad split 'val': choose test or train"):
        api.evaluate(tiny_run, "kid", n=64, split="val")
    with pytest.raises(GanforgeError, match="nn compares samples with the train split"):
        api.evaluate(tiny_run, "nn", n=64, split="train")


def test_evaluate_refuses_options_that_cannot_act(tiny_run, tmp_path, no_sampling):
    with pytest.raises(GanforgeError, match="--labels belong to a .npy TARGET"):
        api.evaluate(tiny_run, "kid", n=64, labels=tmp_path / "y.npy")
    npy = tmp_path / "x.npy"
    np.save(npy, np.zeros((4, 1, 28, 28), np.uint8))
    with pytest.raises(GanforgeError, match="--best and --raw choose how a run samples"):
        api.evaluate(npy, "kid", which="best")
    with pytest.raises(GanforgeError, match="unknown metric 'fd'"):
        api.evaluate(tiny_run, "fd")


def test_load_run_errors_are_one_line(tmp_path, tiny_run):
    with pytest.raises(CheckpointError, match="is not a run directory"):
        api.load_run(tmp_path / "absent")
    with pytest.raises(CheckpointError, match=r"no config.json"):
        api.load_run(tmp_path)
    with pytest.raises(CheckpointError, match="has no best checkpoint .* drop --best"):
        api.load_run(tiny_run, which="best")
    empty = tmp_path / "copy"
    (empty / "checkpoints").mkdir(parents=True)
    (empty / "config.json").write_bytes((tiny_run / "config.json").read_bytes())
    with pytest.raises(CheckpointError, match="no loadable checkpoint: checkpoints/ holds no"):
        api.load_run(empty)


def test_load_run_gives_the_trained_generator(tiny_run):
    run = api.load_run(tiny_run, device="cpu")
    assert isinstance(run, ganforge.LoadedRun) and run.step == 2 and run.cfg.recipe == "gan"
    x = run.sample(5, seed=3)
    assert x.shape == (5, 1, 28, 28) and x.abs().max() <= 1
    assert torch.equal(x, api.sample(tiny_run, 5, 3))


def test_sample_to_file_checks_its_arguments_before_loading(tmp_path):
    with pytest.raises(GanforgeError, match="bad --n 0: must be at least 1"):
        api.sample_to_file(tmp_path / "absent", tmp_path / "x.png", n=0)
    with pytest.raises(GanforgeError, match=r"bad --out .*x.jpg: use a .png or .npy"):
        api.sample_to_file(tmp_path / "absent", tmp_path / "x.jpg")
