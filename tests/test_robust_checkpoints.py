"""Never lose a run: kill -9 + exact resume, signals, malicious pickles, damaged checkpoints,
a full disk and the divergence guard. Tiny MLP GANs on a folder of 8x8 noise images."""

from __future__ import annotations

import errno
import json
import os
import pickle
import random
import signal
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from ganforge.errors import CheckpointError
from ganforge.training import checkpoint as ckpt
from robust_util import error_line, popen, tiny_args, tiny_folder


def _wait_for_checkpoint(proc, ckdir: Path, timeout: float = 120.0) -> None:
    t0 = time.monotonic()
    while not ckpt.checkpoint_files(ckdir):
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"run ended before its first checkpoint: rc {proc.returncode}: {err}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            pytest.fail("no checkpoint appeared")
        time.sleep(0.05)


@pytest.fixture
def folder(tmp_path):
    return tiny_folder(tmp_path / "imgs")


# ------------------------------------------------------------------ kill -9, then resume
def test_kill9_then_resume_is_byte_identical(tmp_path, folder, cli):
    steps, extra = 240, ["--set", "checkpoint_every=10", "--set", "log_every=20"]
    victim = popen(tiny_args(folder, tmp_path / "victim", steps, *extra))  # a real process
    _wait_for_checkpoint(victim, tmp_path / "victim" / "checkpoints")
    time.sleep(random.uniform(0.0, 0.2))  # a random moment after a checkpoint exists
    assert victim.poll() is None, "the run finished before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    assert victim.returncode == -signal.SIGKILL
    killed_at = ckpt.latest_checkpoint(tmp_path / "victim" / "checkpoints")
    assert killed_at is not None
    assert ckpt.load_checkpoint(killed_at)["step"] < steps

    # the uninterrupted reference and the resume run here, single-threaded like the victim
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rc, _, err = cli(*tiny_args(folder, tmp_path / "ref", steps, *extra))
        assert rc == 0, err
        rc, _, err = cli("train", "--resume", tmp_path / "victim")
        assert rc == 0, err
    finally:
        torch.set_num_threads(threads)
    name = f"step-{steps:06d}.safetensors"
    a = (tmp_path / "ref" / "checkpoints" / name).read_bytes()
    b = (tmp_path / "victim" / "checkpoints" / name).read_bytes()
    assert a == b, "resumed run's final checkpoint differs from the uninterrupted run's"
    # the metrics log has no duplicate or half-written lines after the resume
    lines = (tmp_path / "victim" / "metrics.jsonl").read_text().splitlines()
    logged = [json.loads(ln)["step"] for ln in lines]
    assert logged == sorted(set(logged)) and logged[-1] == steps
    assert not list((tmp_path / "victim" / "checkpoints").glob(".*.tmp"))


# ---------------------------------------------------------------------- SIGINT, SIGTERM
def test_sigint_and_sigterm_checkpoint_and_exit(tmp_path, folder, cli):
    extra = ["--set", "checkpoint_every=5", "--set", "log_every=5"]
    procs = {
        sig: popen(tiny_args(folder, tmp_path / sig.name, 100000, *extra))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    for sig, proc in procs.items():
        _wait_for_checkpoint(proc, tmp_path / sig.name / "checkpoints")
        proc.send_signal(sig)
    for sig, proc in procs.items():
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 128 + sig, err
        line = error_line(err)
        assert f"{sig.name} received: stopped at step" in line
        assert f"resume with: ganforge train --resume {tmp_path / sig.name}" in line
        info = json.loads((tmp_path / sig.name / "run.json").read_text())
        assert info["status"] == "interrupted"
        latest = ckpt.latest_checkpoint(tmp_path / sig.name / "checkpoints")
        state = ckpt.load_checkpoint(latest)
        assert state["step"] == info["steps"] > 0
        assert latest.name == info["last_checkpoint"]
    # the interrupted run continues where it stopped
    stopped = json.loads((tmp_path / "SIGTERM" / "run.json").read_text())["steps"]
    rc, _, err = cli("train", "--resume", tmp_path / "SIGTERM", "--steps", stopped + 3)
    assert rc == 0, err
    final = ckpt.latest_checkpoint(tmp_path / "SIGTERM" / "checkpoints")
    assert ckpt.load_checkpoint(final)["step"] == stopped + 3


# ----------------------------------------------------------------- a run to damage below
@pytest.fixture
def small_run(tmp_path, folder, cli):
    out = tmp_path / "run"
    rc, _, err = cli(*tiny_args(folder, out, 4, "--set", "checkpoint_every=2"))
    assert rc == 0, err
    return out


class _Payload:
    """Unpickling this creates ``path``: stands for arbitrary code in a hostile file."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _hostile_files(marker: Path) -> dict[str, bytes]:
    files = {f"pickle-protocol-{p}": pickle.dumps(_Payload(marker), protocol=p) for p in (0, 2, 5)}
    buf = __import__("io").BytesIO()
    torch.save({"G": _Payload(marker)}, buf)  # torch's zip format with the payload inside
    files["torch-save-zip"] = buf.getvalue()
    return files


def test_malicious_pickle_is_refused_and_never_runs(tmp_path, small_run, cli):
    live = tmp_path / "live-marker"
    pickle.loads(pickle.dumps(_Payload(live)))  # the control: this payload really runs
    assert live.exists()
    marker = tmp_path / "pwned-marker"
    planted = small_run / "checkpoints" / "step-999999.safetensors"
    for kind, payload in _hostile_files(marker).items():
        planted.write_bytes(payload)
        with pytest.raises(CheckpointError) as exc:
            ckpt.load_checkpoint(planted)
        assert str(planted) in str(exc.value) and "\n" not in str(exc.value), kind
        # the run still samples from its own newest real checkpoint, naming the refused file
        rc, out, err = cli("sample", small_run, "--n", "4", "--out", tmp_path / "s.png")
        assert rc == 0, err
        assert f"skipping {planted}" in err, kind
        assert not marker.exists(), f"{kind}: payload ran"
    # with no real checkpoint left, loading fails with one line and exit 2
    for path in ckpt.checkpoint_files(small_run / "checkpoints"):
        if path != planted:
            path.unlink()
    rc, _, err = cli("sample", small_run, "--out", tmp_path / "s.png")
    assert rc == 2 and "has no loadable checkpoint" in error_line(err)
    assert not marker.exists()


def test_pickle_error_text(tmp_path):
    path = tmp_path / "step-000001.safetensors"
    path.write_bytes(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(CheckpointError, match="ganforge never unpickles files"):
        ckpt.load_checkpoint(path)


# ------------------------------------------------- truncated, not ours, incompatible config
def _damaged(tmp_path: Path, real: Path) -> dict[str, tuple[bytes, str]]:
    raw = real.read_bytes()
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(3)}, other)
    return {
        "truncated half": (raw[: len(raw) // 2], "is truncated"),
        "truncated header": (raw[:20], "is truncated"),
        "8 bytes only": (raw[:8], "not a ganforge checkpoint"),
        "empty file": (b"", "is empty (0 bytes)"),
        "not ours (plain safetensors)": (other.read_bytes(), "no ganforge metadata"),
        "text file": (b"hello, this is not a checkpoint at all\n", "not a safetensors file"),
        "zip archive": (b"PK\x03\x04" + b"\0" * 40, "looks like a pickle/zip"),
        "tensor bytes cut": (raw[:-7], "truncated or corrupt"),
    }


def test_damaged_checkpoints_give_one_line_errors(tmp_path, small_run, cli):
    real = ckpt.checkpoint_files(small_run / "checkpoints")[-1]
    target = tmp_path / "bad" / "step-000001.safetensors"
    target.parent.mkdir()
    for kind, (data, expected) in _damaged(tmp_path, real).items():
        target.write_bytes(data)
        with pytest.raises(CheckpointError) as exc:
            ckpt.load_checkpoint(target)
        msg = str(exc.value)
        assert expected in msg and str(target) in msg and "\n" not in msg, (kind, msg)


def test_newer_format_version_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "step-000001.safetensors"
    monkeypatch.setattr(ckpt, "VERSION", 99)
    ckpt.save_checkpoint(path, {"step": 1})
    monkeypatch.setattr(ckpt, "VERSION", 1)
    with pytest.raises(CheckpointError, match="format version 99, this ganforge reads version 1"):
        ckpt.load_checkpoint(path)


def test_incompatible_config_gives_one_line_error(small_run, cli, tmp_path):
    cfg_path = small_run / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["g_width"] = 16
    cfg_path.write_text(json.dumps(cfg))
    rc, _, err = cli("sample", small_run, "--out", tmp_path / "s.png")
    assert rc == 2 and "does not fit its config" in error_line(err)
    rc, _, err = cli("train", "--resume", small_run, "--steps", "6")
    line = error_line(err)
    assert rc == 2 and "does not fit this run's models (size mismatch for" in line, line
    cfg["g_width"], cfg["image_size"] = 8, 16  # data shape differs: the game differs
    cfg_path.write_text(json.dumps(cfg))
    rc, _, err = cli("train", "--resume", small_run, "--steps", "6")
    assert rc == 2 and "incompatible config (game differs)" in error_line(err)


# --------------------------------------------------------------------------- a full disk
def test_full_disk_keeps_previous_checkpoint(tmp_path, folder, cli, monkeypatch):
    real_fsync = os.fsync

    def fsync(fd):
        name = os.readlink(f"/proc/self/fd/{fd}")
        if "step-000006" in name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    out = tmp_path / "run"
    rc, _, err = cli(*tiny_args(folder, out, 9, "--set", "checkpoint_every=3"))
    assert rc == 2
    line = error_line(err)
    assert "could not write checkpoint" in line and "No space left on device" in line
    assert "the previous checkpoint is intact" in line
    ck = out / "checkpoints"
    assert [p.name for p in ckpt.checkpoint_files(ck)] == ["step-000003.safetensors"]
    assert ckpt.load_checkpoint(ck / "step-000003.safetensors")["step"] == 3
    assert not list(ck.glob(".*.tmp")), "half-written temporary left behind"
    assert json.loads((out / "run.json").read_text())["status"] == "failed"
    monkeypatch.setattr(os, "fsync", real_fsync)
    rc, _, err = cli("train", "--resume", out)  # space freed: the run continues
    assert rc == 0, err
    assert ckpt.load_checkpoint(ckpt.latest_checkpoint(ck))["step"] == 9


# ------------------------------------------------------------------- divergence guard
@pytest.fixture
def nan_from_step_7(monkeypatch):
    from ganforge.games.adversarial import AdversarialGame

    real = AdversarialGame.d_loss

    def d_loss(self, batch, step, keep_fakes=True):
        out = real(self, batch, step, keep_fakes)
        return out._replace(loss=out.loss * float("nan")) if step >= 7 else out

    monkeypatch.setattr(AdversarialGame, "d_loss", d_loss)


def test_divergence_stops_and_keeps_last_good(tmp_path, folder, cli, nan_from_step_7):
    out = tmp_path / "run"
    rc, _, err = cli(*tiny_args(folder, out, 30, "--set", "checkpoint_every=5"))
    assert rc == 3
    line = error_line(err)
    assert "non-finite loss at step 8" in line
    assert "Last good checkpoint: step-000005.safetensors" in line
    ck = out / "checkpoints"
    assert [p.name for p in ckpt.checkpoint_files(ck)] == ["step-000005.safetensors"]
    state = ckpt.load_checkpoint(ck / "step-000005.safetensors")
    for part in ("G", "D"):
        assert all(torch.isfinite(t).all() for t in state["models"][part].values())
    assert json.loads((out / "run.json").read_text())["status"] == "diverged"


def test_on_nan_skip_continues(tmp_path, folder, cli, nan_from_step_7):
    out = tmp_path / "run"
    args = ["--set", "on_nan=skip", "--set", "checkpoint_every=7"]
    rc, _, err = cli(*tiny_args(folder, out, 14, *args))
    assert rc == 0, err
    ck = out / "checkpoints"
    last = ckpt.load_checkpoint(ck / "step-000014.safetensors")
    at7 = ckpt.load_checkpoint(ck / "step-000007.safetensors")
    for name, t in last["models"]["D"].items():
        assert torch.isfinite(t).all()
        assert torch.equal(t, at7["models"]["D"][name]), "D was updated by a NaN loss"
    assert any(not torch.equal(t, at7["models"]["G"][k]) for k, t in last["models"]["G"].items()), (
        "G should keep training"
    )


def test_write_json_on_a_full_disk_keeps_the_old_file(tmp_path, monkeypatch):
    from ganforge.errors import CheckpointError
    from ganforge.run_dir import write_json

    path = tmp_path / "run.json"
    write_json(path, {"status": "running"})

    def replace(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(CheckpointError) as info:
        write_json(path, {"status": "finished"})
    msg = str(info.value)
    assert msg == (
        f"could not write {path}: No space left on device (disk full?); the previous version "
        "is intact"
    )
    assert json.loads(path.read_text()) == {"status": "running"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]  # no .tmp left behind
