"""Issue 24 item 7: `sample --n N` streams a .npy batch by batch and checks the free space."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import namedtuple

import numpy as np
import pytest

from ganforge import api
from ganforge.views.sample_file import write_samples
from robust_util import env, tiny_args, tiny_folder


@pytest.fixture
def tiny_run(tmp_path, cli):
    out = tmp_path / "run"
    rc, _, err = cli(*tiny_args(tiny_folder(tmp_path / "imgs", n=32), out, 2))
    assert rc == 0, err
    return out


def test_streamed_npy_equals_the_in_memory_sample(tiny_run, tmp_path, cli):
    run = api.load_run(tiny_run, device="cpu")
    path = write_samples(run, tmp_path / "s.npy", 23, seed=3, batch_size=5)
    got = np.load(path)
    assert got.dtype == np.float32 and got.shape == (23, 1, 8, 8)
    assert np.array_equal(got, run.sample(23, 3, batch_size=5).numpy())
    rc, _, err = cli("sample", tiny_run, "--n", "1234", "--seed", "2", "--out", tmp_path / "c.npy")
    assert rc == 0, err
    assert np.array_equal(np.load(tmp_path / "c.npy"), run.sample(1234, 2).numpy())
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".npy", ".tmp")) == [
        "c.npy",
        "s.npy",
    ]


def _peak_rss_kb(run, out, n: int) -> int:
    code = (
        "import resource, sys\n"
        "from ganforge.cli import main\n"
        "assert main(sys.argv[1:]) == 0\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    args = ["sample", str(run), "--n", str(n), "--out", str(out), "--device", "cpu"]
    res = subprocess.run(
        [sys.executable, "-c", code, *args], env=env(), capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr
    return int(res.stdout.split()[-1])


def test_sample_memory_does_not_grow_with_n(tiny_run, tmp_path):
    small = _peak_rss_kb(tiny_run, tmp_path / "small.npy", 1000)
    n = 600_000  # 154 MB of float32 8x8 samples; holding them (and a copy) would add >= 300 MB
    big = _peak_rss_kb(tiny_run, tmp_path / "big.npy", n)
    arr = np.load(tmp_path / "big.npy", mmap_mode="r")
    assert arr.shape == (n, 1, 8, 8)
    assert np.array_equal(arr[:1000], np.load(tmp_path / "small.npy"))
    assert (big - small) * 1024 < 60e6, (small, big)


def test_too_little_free_space_is_refused_up_front(tiny_run, tmp_path, cli, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 10**6, 10**6))
    out = tmp_path / "out" / "x.npy"
    rc, _, err = cli("sample", tiny_run, "--n", "10000000", "--out", out)
    assert rc == 2 and err.count("\n") == 1, err
    assert "would take 2.6 GB but only 1.0 MB is free" in err and "lower --n" in err
    assert not out.exists() and not (tmp_path / "out").exists()


def test_huge_png_grid_is_refused(tiny_run, tmp_path, cli):
    rc, _, err = cli("sample", tiny_run, "--n", "20000", "--out", tmp_path / "g.png")
    assert rc == 2 and "use a .npy --out" in err and not (tmp_path / "g.png").exists()
