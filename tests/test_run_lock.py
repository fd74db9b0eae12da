"""Issue 24 item 2: one process per run folder (RUN/.lock), refusals name the holder's pid."""

from __future__ import annotations

import json
import signal
import time

from ganforge import run_dir
from robust_util import popen, tiny_args, tiny_folder


def _wait_running(proc, out, timeout: float = 90.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        assert proc.poll() is None, proc.communicate()
        try:
            if json.loads((out / "run.json").read_text())["status"] == "running":
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    raise AssertionError("the first run never started")


def test_second_process_on_a_training_run_is_refused(tmp_path, cli):
    folder = tiny_folder(tmp_path / "imgs")
    out = tmp_path / "run"
    first = popen(tiny_args(folder, out, 10**7, "--set", "checkpoint_every=50"))
    try:
        _wait_running(first, out)
        assert (out / ".lock").read_text().strip() == str(first.pid)
        before = (out / "config.json").read_bytes()
        for extra in ([], ["--force"]):
            rc, _, err = cli(*tiny_args(folder, out, 2), *extra)
            assert rc == 2, err
            assert (
                err.count("\n") == 1
                and f"in use by another ganforge process (pid {first.pid})" in err
            )
        rc, _, err = cli("train", "--resume", out, "--steps", "3")
        assert rc == 2 and f"(pid {first.pid})" in err and err.count("\n") == 1, err
        assert (out / "config.json").read_bytes() == before  # nothing replaced
        assert json.loads((out / "run.json").read_text())["pid"] == first.pid
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    # the lock went with the process: the run can be resumed now
    steps = json.loads((out / "run.json").read_text())["steps"]
    rc, _, err = cli("train", "--resume", out, "--steps", str(steps + 2))
    assert rc == 0, err
    assert (out / ".lock").read_text().strip() != str(first.pid)


def test_lock_is_reentrant_in_process_and_released(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    assert run_dir.lock_run(out) is True
    assert run_dir.lock_run(out) is False  # already held here
    run_dir.release_run(out)
    assert run_dir.lock_run(out) is True
    run_dir.release_run(out)


def test_force_keeps_the_lock_file_and_a_lone_lock_counts_as_empty(tmp_path, cli):
    folder = tiny_folder(tmp_path / "imgs")
    out = tmp_path / "run"
    out.mkdir()
    (out / ".lock").write_text("")  # left by an earlier, failed start
    assert cli(*tiny_args(folder, out, 2))[0] == 0
    rc, _, err = cli(*tiny_args(folder, out, 3), "--force")
    assert rc == 0, err
    assert json.loads((out / "run.json").read_text())["steps"] == 3
    assert (out / ".lock").is_file()
