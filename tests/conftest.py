"""Shared fixtures: an in-process CLI runner and tiny-model overrides."""

from __future__ import annotations

import pytest
import torch

from ganforge.cli import main

# Tests keep models tiny: one thread is as fast for them, and friendly to a shared machine.
torch.set_num_threads(1)

TINY = ["--set", "g_width=8", "--set", "d_width=8", "--batch-size", "16", "--set", "report=false"]


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
