"""The CPU thread count: auto from the cores not busy with other processes, or threads=N."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganforge.training import threads
from ganforge.training.threads import Machine, choose_threads
from robust_util import tiny_args, tiny_folder


@pytest.mark.parametrize(
    "machine, expected",
    [
        (Machine(cores=2, others=0.0), 2),
        (Machine(cores=2, others=1.0), 1),  # issue 24 item 10: one competing process
        (Machine(cores=2, others=1.4), 1),
        (Machine(cores=2, others=7.0), 1),  # never below one
        (Machine(cores=16, others=2.6), 13),  # load rounded
        (Machine(cores=16, others=0.4), 16),
        (Machine(cores=8, others=0.0, local_ranks=2), 4),  # torchrun ranks share the cores
        (Machine(cores=16, others=0.0, limit=4), 4),  # OMP_NUM_THREADS / set_num_threads bound
    ],
)
def test_auto_threads_leave_cores_busy_with_others(machine, expected):
    n, why = choose_threads(0, machine)
    assert n == expected
    assert why.startswith(f"{n} CPU thread") and why.endswith("--set threads=N to choose")
    assert f"{machine.cores} cores, load {machine.others:.1f} from other processes" in why


def test_requested_threads_are_honoured_whatever_the_load():
    assert choose_threads(3, Machine(cores=2, others=5.0)) == (3, "3 CPU threads (threads=3)")
    assert choose_threads(1, Machine(cores=64, others=0.0))[0] == 1


def test_load_of_others_counts_only_processes_runnable_now(monkeypatch):
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (1.1, 1.0, 1.0))
    real_read = threads.Path.read_text

    def fake(running):
        return lambda self, *a, **k: (
            f"1.10 1.00 1.00 {running}/99 1234\n"
            if str(self) == "/proc/loadavg"
            else real_read(self, *a, **k)
        )

    monkeypatch.setattr(threads, "own_runnable_threads", lambda: 1)
    monkeypatch.setattr(threads.Path, "read_text", fake(2))  # this process and one other
    assert threads.load_of_others() == pytest.approx(1.0)
    monkeypatch.setattr(threads.Path, "read_text", fake(1))  # the other one has just ended
    assert threads.load_of_others() == 0.0
    monkeypatch.setattr(threads.Path, "read_text", fake(3))
    assert threads.load_of_others() == pytest.approx(1.1)
    # this process's own OpenMP workers, still spinning after a computation, are not others
    monkeypatch.setattr(threads, "own_runnable_threads", lambda: 2)
    monkeypatch.setattr(threads.Path, "read_text", fake(2))
    assert threads.load_of_others() == 0.0


def test_own_runnable_threads_counts_this_process_and_at_least_the_caller():
    assert 1 <= threads.own_runnable_threads() <= len(list(Path("/proc/self/task").iterdir()))


@pytest.fixture
def keep_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_train_announces_auto_threads_and_honours_threads_n(
    tmp_path, cli, monkeypatch, keep_threads
):
    folder = tiny_folder(tmp_path / "imgs", n=16)
    monkeypatch.setattr(threads, "measure", lambda: Machine(cores=4, others=1.0, limit=64))
    rc, _, err = cli(*tiny_args(folder, tmp_path / "auto", 1))
    assert rc == 0, err
    assert torch.get_num_threads() == 3
    line = "ganforge: 3 CPU threads (4 cores, load 1.0 from other processes); --set threads=N"
    assert sum(ln.startswith(line) for ln in err.splitlines()) == 1, err
    rc, _, err = cli(*tiny_args(folder, tmp_path / "two", 1, "--set", "threads=2"))
    assert rc == 0, err
    assert torch.get_num_threads() == 2
    assert "ganforge: 2 CPU threads (threads=2)" in err.splitlines()
