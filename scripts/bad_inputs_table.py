"""Print the markdown table of every bad input tried and what ganforge answered.

Usage: PYTHONPATH=src python scripts/bad_inputs_table.py  (offline; builds its inputs in a
temporary folder; the same catalogue the tests in tests/test_robust_input.py check).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
os.environ["GANFORGE_OFFLINE"] = "1"

from ganforge.cli import main  # noqa: E402
from ganforge.data.sources import download  # noqa: E402
from ganforge.errors import GanforgeError  # noqa: E402
from robust_util import bad_cases  # noqa: E402


def _run(args: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(args)
    info = ("ganforge: training ", "ganforge: resuming ")  # the header names the data folder
    lines = [
        ln
        for ln in err.getvalue().splitlines()
        if ln.startswith("ganforge:") and not ln.startswith(info) and "CPU thread" not in ln
    ]
    if rc == 0:
        lines = [ln for ln in lines if "warning" in ln or "skipped" in ln][-1:] or [
            out.getvalue().splitlines()[0]
        ]
    return rc, lines[-1] if lines else ""


def _checkpoint_rows(tmp: Path) -> list[tuple[str, int, str]]:
    """Damaged, hostile and incompatible checkpoints, a full disk and a diverging run."""
    import errno
    import json
    import pickle

    import torch
    from safetensors.torch import save_file

    from ganforge.games.adversarial import AdversarialGame
    from ganforge.training import checkpoint as ckpt
    from robust_util import tiny_args, tiny_folder

    folder = tiny_folder(tmp / "imgs")
    run = tmp / "run"
    assert main(tiny_args(folder, run, 4, "--set", "checkpoint_every=2")) == 0
    real = ckpt.checkpoint_files(run / "checkpoints")[-1].read_bytes()
    marker = tmp / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    zip_buf = io.BytesIO()
    torch.save({"G": Payload()}, zip_buf)
    save_file({"w": torch.zeros(3)}, tmp / "other.safetensors")
    files = {
        "pickle (protocol 2) with a file-creating payload, named step-999999.safetensors": (
            pickle.dumps(Payload(), protocol=2)
        ),
        "pickle (protocol 0) with the same payload": pickle.dumps(Payload(), protocol=0),
        "torch.save zip with the same payload": zip_buf.getvalue(),
        "checkpoint cut in half": real[: len(real) // 2],
        "checkpoint missing its last 7 bytes": real[:-7],
        "empty checkpoint file": b"",
        "safetensors file not written by ganforge": (tmp / "other.safetensors").read_bytes(),
        "text file named like a checkpoint": b"hello\n",
    }
    rows = []
    target = tmp / "bad" / "step-999999.safetensors"
    target.parent.mkdir()
    for desc, data in files.items():
        target.write_bytes(data)
        try:
            ckpt.load_checkpoint(target)
            rows.append((desc, 0, "LOADED (bug)"))
        except GanforgeError as exc:
            rows.append((desc, 2, f"ganforge: error: {exc}"))
    assert not marker.exists(), "payload ran"

    cfg = json.loads((run / "config.json").read_text())
    cfg["g_width"] = 16
    (run / "config.json").write_text(json.dumps(cfg))
    rows.append(
        ("config.json edited (g_width 8 -> 16), then --resume",)
        + _run(["train", "--resume", str(run), "--steps", "6"])
    )

    real_fsync = os.fsync

    def full(fd):
        if "step-000006" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    os.fsync = full
    try:
        args = tiny_args(folder, tmp / "disk", 9, "--set", "checkpoint_every=3")
        rows.append(
            ("disk full (ENOSPC at fsync) while writing the step-6 checkpoint",) + _run(args)
        )
    finally:
        os.fsync = real_fsync

    real_d_loss = AdversarialGame.d_loss

    def nan_loss(self, batch, step, keep_fakes=True):
        loss, logs, fakes = real_d_loss(self, batch, step, keep_fakes)
        return (loss * float("nan") if step >= 7 else loss), logs, fakes

    AdversarialGame.d_loss = nan_loss
    try:
        args = tiny_args(folder, tmp / "nan", 30, "--set", "checkpoint_every=5")
        rows.append(("D loss NaN from step 8 (on_nan=stop)",) + _run(args))
    finally:
        AdversarialGame.d_loss = real_d_loss
    return rows


def _command_rows(tmp: Path) -> list[tuple[str, int, str]]:
    """Issue 24: a locked run, zero budgets, eval/sample inputs that used to fall back
    silently or end in an internal error."""
    import shutil
    import subprocess
    import time
    from collections import namedtuple

    import numpy as np

    from robust_util import tiny_args, tiny_folder

    folder = tiny_folder(tmp / "cmd-imgs")
    run = tmp / "cmd-run"
    assert main(tiny_args(folder, run, 2)) == 0
    minutes0 = tiny_args(folder, tmp / "m0", 1)
    i = minutes0.index("--steps")
    minutes0[i : i + 2] = ["--minutes", "0"]
    rows = [
        ("train --minutes 0",) + _run(minutes0),
        ("train --resume RUN --steps 0",) + _run(["train", "--resume", str(run), "--steps", "0"]),
        ("eval --best on a run without best.safetensors",)
        + _run(["eval", str(run), "--best", "--metrics", "kid", "--n", "8"]),
    ]
    nan = np.zeros((8, 1, 28, 28), np.float32)
    nan[0, 0, 0, 0] = np.nan
    np.save(tmp / "nan.npy", nan)
    rows.append(("eval of a .npy holding a NaN",) + _run(["eval", str(tmp / "nan.npy")]))
    a_file = tmp / "cmd-file"
    a_file.write_text("x")
    out = str(a_file / "x.npy")
    rows.append(("sample --out below a file",) + _run(["sample", str(run), "--out", out]))
    usage, real = namedtuple("usage", "total used free"), shutil.disk_usage
    shutil.disk_usage = lambda p: usage(10**9, 10**9 - 10**6, 10**6)
    try:
        args = ["sample", str(run), "--n", "10000000", "--out", str(tmp / "big.npy")]
        rows.append(("sample --n 10000000 with 1 MB free",) + _run(args))
    finally:
        shutil.disk_usage = real
    holder = subprocess.Popen(  # another process holding the run's lock
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
            "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'%d' % os.getpid()); "
            "print(flush=True); time.sleep(60)",
            str(run / ".lock"),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        holder.stdout.readline()
        time.sleep(0.1)
        rows.append(
            ("train --resume on a run another process is training",)
            + _run(["train", "--resume", str(run), "--steps", "4"])
        )
    finally:
        holder.kill()
        holder.wait()
    return [(d, rc, msg.replace(f"pid {holder.pid}", "pid PID")) for d, rc, msg in rows]


# keys that cannot act where they are set, and rejection sampling where D's logit is no density
# ratio of the sampled G (issue 16.6 and 16.7)
CONFIG_CASES = [
    ("pix2pix --set penalty=gp", ["train", "pix2pix", "--set", "penalty=gp"]),
    ("cyclegan --set clip=0.01", ["train", "cyclegan", "--set", "clip=0.01"]),
    ("cyclegan --set instance_noise=0.1", ["train", "cyclegan", "--set", "instance_noise=0.1"]),
    ("hinge-sn --set label_smoothing=0.1", ["train", "hinge-sn", "--set", "label_smoothing=0.1"]),
    ("wgan-gp --set label_smoothing=0.1", ["train", "wgan-gp", "--set", "label_smoothing=0.1"]),
    ("dcgan --set l1_weight=10", ["train", "dcgan", "--set", "l1_weight=10"]),
    ("gan --set self_attention=true", ["train", "gan", "--set", "self_attention=true"]),
    ("hinge-sn rejection=drs", ["train", "hinge-sn", "--set", "rejection=drs"]),
    (
        "gan rejection=drs with ema",
        ["train", "gan", "--set", "rejection=drs", "--set", "ema=0.999"],
    ),
    ("dcgan rejection=drs (BatchNorm in D)", ["train", "dcgan", "--set", "rejection=drs"]),
    ("pix2pix --set ema=0.999 (BatchNorm G)", ["train", "pix2pix", "--set", "ema=0.999"]),
]


def main_table() -> None:
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = []
        for i, (desc, args, _, _) in enumerate(bad_cases(tmp / "cases")):
            base = ["train", "gan", "--image-size", "8", "--channels", "1", "--steps", "1"]
            base += ["--batch-size", "16", "--set", "g_width=8", "--set", "d_width=8"]
            rc, msg = _run([*base, "--out", str(tmp / f"run{i}"), *args])
            rows.append((desc, rc, msg.replace(str(tmp), "…")))
        served = tmp / "served.gz"
        served.write_bytes(b"tampered")
        try:
            download(served.as_uri(), tmp / "t.gz", hashlib.sha256(b"real").hexdigest())
        except GanforgeError as exc:
            rows.append(("download with wrong SHA-256", 2, f"ganforge: error: {exc}"))
        rows += _checkpoint_rows(tmp)
        rows += _command_rows(tmp)
        from robust_util import command_cases, tiny_args

        assert main(tiny_args(tmp / "imgs", tmp / "cmd-run-b", 2)) == 0  # a run left as trained
        for desc, args, _, _ in command_cases(tmp / "commands", tmp / "cmd-run-b"):
            rows.append((desc, *_run(args)))
        from robust_util import feature_cases

        for desc, args, _, _ in feature_cases(tmp / "features"):
            rows.append((desc, *_run(args)))
        for desc, args in CONFIG_CASES:
            rows.append((desc, *_run([*args, "--out", str(tmp / "cfg-run")])))
        print("| input | exit | message |")
        print("|---|---|---|")
        for desc, rc, msg in rows:
            msg = msg.replace(str(tmp), "…").replace("|", "\\|")
            print(f"| {desc} | {rc} | `{msg}` |")


if __name__ == "__main__":
    main_table()
