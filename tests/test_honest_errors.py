"""Issue 24 item 8: ordinary problems are one-line errors with exit 2 (not "internal error"),
and a run that fails says so in run.json."""

from __future__ import annotations

import builtins
import errno
import gzip
import json
import os

import numpy as np
import pytest

from ganforge.errors import GanforgeError
from ganforge.metrics.evaluate import evaluate_images
from ganforge.training.hooks import MetricsLog
from robust_util import TINY, _idx_bytes, error_line, tiny_args, tiny_folder


@pytest.fixture
def read_only(tmp_path, monkeypatch):
    """A folder on a 'read-only file system': every write under it fails with EROFS. Simulated
    by patching the calls that create files and folders, since root ignores chmod."""
    ro = tmp_path / "ro"
    ro.mkdir()
    prefix = str(ro) + os.sep

    def under(path) -> bool:
        return isinstance(path, str | os.PathLike) and os.path.abspath(path).startswith(prefix)

    def erofs(path):
        return OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))

    real_open, real_os_open, real_mkdir = builtins.open, os.open, os.mkdir

    def fake_open(file, mode="r", *a, **k):
        if under(file) and set(mode) & set("wax+"):
            raise erofs(file)
        return real_open(file, mode, *a, **k)

    def fake_os_open(path, flags, *a, **k):
        if under(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise erofs(path)
        return real_os_open(path, flags, *a, **k)

    def fake_mkdir(path, *a, **k):
        if under(path):
            raise erofs(path)
        return real_mkdir(path, *a, **k)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(os, "open", fake_os_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)
    return ro


def test_read_only_out_for_train_sample_and_export(tmp_path, cli, read_only):
    folder = tiny_folder(tmp_path / "imgs", n=32)
    rc, _, err = cli(*tiny_args(folder, read_only / "run", 2))
    assert rc == 2 and "Read-only file system" in error_line(err)
    assert f"--out {read_only / 'run'}" in err
    run = tmp_path / "run"
    assert cli(*tiny_args(folder, run, 2))[0] == 0
    for out in ("x.npy", "x.png"):
        rc, _, err = cli("sample", run, "--n", "8", "--out", read_only / out)
        line = error_line(err)
        assert rc == 2 and f"cannot write --out {read_only / out}: Read-only" in line
    rc, _, err = cli("export", run, "--format", "torchscript", "--out", read_only / "g.pt")
    assert rc == 2 and "cannot write --out" in error_line(err)
    assert os.listdir(read_only) == []


def test_nan_in_an_eval_npy(tmp_path, cli):
    x = np.zeros((8, 1, 28, 28), np.float32)
    x[3, 0, 5, 5] = np.nan
    np.save(tmp_path / "nan.npy", x)
    rc, out, err = cli("eval", tmp_path / "nan.npy", "--metrics", "kid")
    assert rc == 2 and out == ""
    assert "nan.npy holds 1 non-finite value(s)" in error_line(err)
    with pytest.raises(GanforgeError, match="NaN or inf"):
        evaluate_images(np.nan_to_num(x, nan=np.inf), "fashion-mnist", "kid")


def _fmnist_with_labels(folder, labels: np.ndarray) -> None:
    n = len(labels)
    rng = np.random.default_rng(0)
    folder.mkdir()
    for prefix in ("train", "t10k"):
        imgs = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8).tobytes()
        data = _idx_bytes(b"\x00\x00\x08\x03", (n, 28, 28), imgs)
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(data))
        data = _idx_bytes(b"\x00\x00\x08\x01", (n,), labels.astype(np.uint8).tobytes())
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(data))


def test_out_of_range_labels_are_refused_when_loaded(tmp_path, cli):
    labels = np.arange(32) % 10
    labels[7] = 200
    data = tmp_path / "fmnist"
    _fmnist_with_labels(data, labels)
    out = tmp_path / "run"
    rc, _, err = cli(
        "train", "cgan", "--dataset", "fashion-mnist", "--data-dir", data, "--steps", "3",
        "--out", out, *TINY,
    )  # fmt: skip
    line = error_line(err)
    assert rc == 2 and "fashion-mnist train labels: 1 of 32 lie outside 0..9" in line
    assert not (out / "run.json").exists()  # refused before the run started


def test_a_failure_mid_run_is_recorded_in_run_json(tmp_path, cli, monkeypatch):
    real = MetricsLog.write

    def disk_full(self, step, line):
        if step >= 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
        return real(self, step, line)

    monkeypatch.setattr(MetricsLog, "write", disk_full)
    out = tmp_path / "run"
    args = tiny_args(tiny_folder(tmp_path / "imgs", n=32), out, 5, "--set", "log_every=1")
    rc, _, err = cli(*args)
    assert rc == 2 and "metrics.jsonl: No space left on device" in error_line(err)
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "failed" and info["steps"] == 2
    assert info["error"] == f"{out / 'metrics.jsonl'}: No space left on device"
