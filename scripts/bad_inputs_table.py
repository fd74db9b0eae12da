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
    lines = [ln for ln in err.getvalue().splitlines() if ln.startswith("ganforge:")]
    if rc == 0:
        lines = [ln for ln in lines if "warning" in ln or "skipped" in ln][-1:] or [
            out.getvalue().splitlines()[0]
        ]
    return rc, lines[-1] if lines else ""


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
        print("| input | exit | message |")
        print("|---|---|---|")
        for desc, rc, msg in rows:
            msg = msg.replace(str(tmp), "…").replace("|", "\\|")
            print(f"| {desc} | {rc} | `{msg}` |")


if __name__ == "__main__":
    main_table()
