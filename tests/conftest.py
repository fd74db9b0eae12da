"""Shared fixtures: an in-process CLI runner, one torch thread, no downloads, a temporary cwd."""

from __future__ import annotations

import pytest
import torch

from ganforge.cli import main

# Tests keep models tiny: one thread is as fast for them, and friendly to a shared machine.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _one_thread():
    """Each test starts on one intra-op thread (two threads on a loaded 2-core machine are
    ~30x slower for tiny nets) and a test that changes the count does not leak it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def cli(capsys):
    """Run ``ganforge ARGS`` in-process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    """No test may download: the IDX search ends at the local places."""
    monkeypatch.setenv("GANFORGE_OFFLINE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _in_tmp_path(monkeypatch, tmp_path):
    """Every test runs in its own temporary folder, so commands with default output folders
    (runs/...) never write into the checkout."""
    monkeypatch.chdir(tmp_path)
