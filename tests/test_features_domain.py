"""Issue 24 item 4: `ganforge features train` and `eval --features PATH` on own image folders;
eval refuses a run it cannot score before it samples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ganforge.api import LoadedRun
from ganforge.metrics.features import load_feature_extractor
from robust_util import TINY, assert_outcome, feature_cases, load_script

make_shapes = load_script("make_shapes").make_shapes


def _run(cli, tmp_path: Path, size: int = 16, name: str = "run") -> tuple[Path, Path]:
    folder = tmp_path / "shapes"
    if not folder.exists():
        make_shapes(folder, n=40, size=16)
    out = tmp_path / name
    rc, _, err = cli(
        "train", "dcgan", "--dataset", f"folder:{folder}", "--image-size", size,
        "--channels", 3, "--steps", 1, "--out", out, *TINY,
    )  # fmt: skip
    assert rc == 0, err
    return folder, out


@pytest.fixture
def no_sampling(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("eval sampled before checking its feature extractor")

    monkeypatch.setattr(LoadedRun, "sample", refuse)


def test_eval_of_a_folder_run_without_extractor_fails_before_sampling(tmp_path, cli, no_sampling):
    """Regression: eval sampled --n images (21 s) before saying there was no extractor, and its
    hint (--features fashion-mnist) then failed on the image shape."""
    folder, run = _run(cli, tmp_path)
    rc, out, err = cli("eval", run, "--n", 50, "--allow-small")
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganforge: error: no shipped feature extractor")
    assert f"ganforge features train folder:{folder} --image-size 16 --channels 3" in lines[0]


def test_eval_with_an_extractor_of_another_shape_fails_before_sampling(tmp_path, cli, no_sampling):
    _, run = _run(cli, tmp_path)
    rc, _, err = cli("eval", run, "--n", 50, "--allow-small", "--features", "fashion-mnist")
    assert rc == 2
    assert err.count("\n") == 1 and "takes 1x28x28 images but run" in err and "3x16x16" in err


def test_features_train_writes_an_extractor_that_eval_uses(tmp_path, cli):
    folder, run = _run(cli, tmp_path)
    path = tmp_path / "f.safetensors"
    rc, out, err = cli("features", "train", folder, "--image-size", 16, "--steps", 5, "--out", path)
    assert rc == 0, err
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["input_shape"] == [3, 16, 16] and card["feature_dim"] == 128
    assert card["objective"] == "rotation" and card["images"] == 40
    fx = load_feature_extractor(str(path))
    assert fx.input_shape == (3, 16, 16)
    feats = fx.features(torch.zeros(4, 3, 16, 16, dtype=torch.uint8))
    assert feats.shape == (4, 128) and torch.isfinite(feats).all()
    rc, out, err = cli("eval", run, "--n", 64, "--allow-small", "--features", path, "--json")
    assert rc == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["fid"] > 0 and 0 <= result["coverage"] <= 1
    assert "is" not in result and "rotations, not classes" in err  # said, not silently dropped
    assert "features: domain:f.safetensors" in out
    # an extractor for 16 px does not score a 32 px run
    _, run32 = _run(cli, tmp_path, size=32, name="run32")
    rc, _, err = cli("eval", run32, "--n", 50, "--allow-small", "--features", path)
    assert rc == 2 and "takes 3x16x16 images but run" in err and "--image-size 32" in err


def test_features_train_takes_labels_from_class_subfolders(tmp_path, cli):
    root = tmp_path / "classes"
    make_shapes(root / "cats", n=12, size=8, seed=1)
    make_shapes(root / "dogs", n=12, size=8, seed=2)
    path = tmp_path / "c.safetensors"
    rc, out, err = cli("features", "train", f"folder:{root}", "--image-size", 8, "--steps", 3,
                       "--out", path)  # fmt: skip
    assert rc == 0, err
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["objective"] == "classes" and card["classes"] == ["cats", "dogs"]
    assert card["outputs"] == 2 and "classes objective" in out


def test_features_train_keeps_an_existing_file(tmp_path, cli):
    folder = make_shapes(tmp_path / "s", n=8, size=8)
    path = tmp_path / "f.safetensors"
    path.write_bytes(b"mine")
    rc, _, err = cli("features", "train", folder, "--image-size", 8, "--steps", 1, "--out", path)
    assert rc == 2 and "exists; pass --force" in err and path.read_bytes() == b"mine"


def test_features_bad_input_is_one_line(tmp_path, cli):
    for desc, args, expect, code in feature_cases(tmp_path / "cases"):
        rc, out, err = cli(*args)
        assert code == 2, desc
        assert_outcome(desc, rc, out, err, expect, code)
    assert (tmp_path / "cases" / "kept.safetensors").read_bytes() == b"mine"
