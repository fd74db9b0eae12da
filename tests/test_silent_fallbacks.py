"""Issue 24 item 9: no silent fallbacks (a zero budget, a missing --data-dir, eval --best
without a best checkpoint, reference features of a changed data copy)."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from ganforge.metrics import evaluate
from ganforge.metrics.features import load_feature_extractor
from robust_util import TINY, _idx_bytes, tiny_args, tiny_folder


@pytest.mark.parametrize(
    ("flag", "value"), [("--steps", "0"), ("--minutes", "0"), ("--epochs", "0"), ("--steps", "-3")]
)
def test_zero_budget_is_refused(cli, tmp_path, flag, value):
    folder = tiny_folder(tmp_path / "imgs", n=16)
    args = tiny_args(folder, tmp_path / "run", 1)
    i = args.index("--steps")
    args[i : i + 2] = [flag, value]
    rc, _, err = cli(*args)
    assert rc == 2 and err.count("\n") == 1, err
    assert f"bad {flag} {value}: a budget must be > 0" in err
    assert not (tmp_path / "run").exists()  # refused before anything was made


def test_zero_budget_on_resume_is_refused(cli, tmp_path):
    folder = tiny_folder(tmp_path / "imgs", n=16)
    assert cli(*tiny_args(folder, tmp_path / "run", 2))[0] == 0
    rc, _, err = cli("train", "--resume", tmp_path / "run", "--minutes", "0")
    assert rc == 2 and "bad --minutes 0: a budget must be > 0" in err
    assert json.loads((tmp_path / "run" / "run.json").read_text())["steps"] == 2


def test_missing_data_dir_is_refused(cli, tmp_path):
    missing = tmp_path / "nonexistent"
    rc, _, err = cli(
        "train", "gan", "--dataset", "fashion-mnist", "--data-dir", missing, "--steps", "1",
        "--out", tmp_path / "run", *TINY,
    )  # fmt: skip
    assert rc == 2 and err.count("\n") == 1, err
    assert f"--data-dir {missing} does not exist" in err
    rc, _, err = cli("data", "where", "fashion-mnist", "--data-dir", missing)
    assert rc == 2 and "does not exist" in err
    a_file = tmp_path / "file"
    a_file.write_text("x")
    rc, _, err = cli("data", "where", "fashion-mnist", "--data-dir", a_file)
    assert rc == 2 and "is not a folder" in err


def test_eval_best_without_a_best_checkpoint_is_refused(cli, tmp_path):
    run = tmp_path / "run"
    rc, _, err = cli("train", "dcgan", "--steps", "2", "--out", run, *TINY)
    assert rc == 0, err
    assert not (run / "checkpoints" / "best.safetensors").exists()
    rc, out, err = cli("eval", run, "--best", "--metrics", "kid", "--n", "8")
    assert rc == 2 and err.count("\n") == 1, err
    assert "has no best checkpoint" in err and "drop --best" in err and out == ""
    rc, out, err = cli("eval", run, "--metrics", "kid", "--n", "8")  # the latest, when asked
    assert rc == 0 and "kid" in out, err


def _write_idx_copy(folder, seed: int) -> None:
    """A tiny fashion-mnist lookalike (8 images per split) in ``folder``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix in ("train", "t10k"):
        imgs = rng.integers(0, 256, (8, 28, 28), dtype=np.uint8).tobytes()
        labels = rng.integers(0, 10, 8, dtype=np.uint8).tobytes()
        images = _idx_bytes(b"\x00\x00\x08\x03", (8, 28, 28), imgs)
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(images))
        labels = _idx_bytes(b"\x00\x00\x08\x01", (8,), labels)
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels))


def test_reference_cache_notices_a_changed_data_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(evaluate, "_MEMORY", {})
    data = tmp_path / "fmnist"
    monkeypatch.setenv("GANFORGE_DATA", str(data))
    fx = load_feature_extractor("fashion-mnist")
    _write_idx_copy(data, seed=0)
    first = evaluate.reference("fashion-mnist", "test", fx).features.clone()
    assert list((tmp_path / "cache" / "ganforge" / "metrics").glob("*.npz"))  # cached on disk
    _write_idx_copy(data, seed=1)  # the same name, other images
    second = evaluate.reference("fashion-mnist", "test", fx).features
    assert not np.allclose(first.numpy(), second.numpy())
    monkeypatch.setattr(evaluate, "_MEMORY", {})  # a new process: only the disk cache
    again = evaluate.reference("fashion-mnist", "test", fx).features
    assert np.array_equal(again.numpy(), second.numpy())
    _write_idx_copy(data, seed=0)  # back to the first copy: its cached features again
    assert np.array_equal(evaluate.reference("fashion-mnist", "test", fx).features, first)
