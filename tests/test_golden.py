"""Behaviour pinned by sha256: the restructuring (issue 17) must not change what a run computes.

For ``gan``, ``dcgan``, ``wgan-gp``, ``cgan``, ``infogan``, ``pix2pix`` and ``cyclegan`` at 30
steps, seed 1, one thread, through the command line as a user runs it: the sha256 of the final
checkpoint file and of ``ganforge sample RUN --n 64 --out x.npy`` (pix2pix and CycleGAN have
no latents to sample: the final ``samples.png``, G applied to fixed test images); for a toy run (``gan`` on
ring8, 300 steps) the sha256 of its metrics and of its samples picture.

Floating-point kernels differ between instruction sets (oneDNN picks AVX-512 or AVX2 code), so
the expected digests are kept per CPU capability and torch version; on a machine without a
record the test is skipped and says how to record one::

    python tests/test_golden.py --record
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
import torch

from ganforge.cli import main

RECIPES = ("gan", "dcgan", "wgan-gp", "cgan", "infogan", "pix2pix", "cyclegan")
TRANSLATORS = ("pix2pix", "cyclegan")
GOLDEN = Path(__file__).parent / "golden"


def machine_key() -> str:
    return f"{torch.backends.cpu.get_cpu_capability()}-torch{torch.__version__.split('+')[0]}"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(argv: list[str]) -> None:
    code = main(argv)
    assert code == 0, f"ganforge {' '.join(argv)} exited with {code}"


def recipe_digests(recipe: str, tmp: Path) -> dict[str, str]:
    run = tmp / recipe
    _run(["train", recipe, "--steps", "30", "--seed", "1", "--set", "threads=1",
          "--set", "report=false", "--out", str(run)])  # fmt: skip
    (last,) = sorted((run / "checkpoints").glob("step-*.safetensors"))[-1:]
    if recipe in TRANSLATORS:  # no latents to sample: their grid of translated test images
        return {"checkpoint": sha256(last), "samples": sha256(run / "samples.png")}
    _run(["sample", str(run), "--n", "64", "--out", str(tmp / f"{recipe}.npy")])
    return {"checkpoint": sha256(last), "samples": sha256(tmp / f"{recipe}.npy")}


def toy_digests(tmp: Path) -> dict[str, str]:
    out = tmp / "toy"
    _run(["toy", "gan", "--dataset", "ring8", "--steps", "300", "--seeds", "1",
          "--set", "seed=1", "--set", "threads=1", "--out", str(out)])  # fmt: skip
    result = json.loads((out / "result.json").read_text())
    metrics = {k: result[k] for k in sorted(result) if k in ("modes", "high_quality", "reverse_kl")}
    return {
        "metrics": hashlib.sha256(json.dumps(metrics, sort_keys=True).encode()).hexdigest(),
        "samples_png": sha256(out / "samples.png"),
    }


def all_digests(tmp: Path) -> dict[str, dict[str, str]]:
    digests = {r: recipe_digests(r, tmp) for r in RECIPES}
    digests["toy"] = toy_digests(tmp)
    return digests


def _expected() -> dict[str, dict[str, str]]:
    path = GOLDEN / f"{machine_key()}.json"
    if not path.exists():
        pytest.skip(f"no golden digests for {machine_key()}: python tests/test_golden.py --record")
    return json.loads(path.read_text())


def test_runs_are_bit_for_bit_what_they_were(tmp_path: Path) -> None:
    expected = _expected()
    got = all_digests(tmp_path)
    changed = {
        f"{name}.{kind}"
        for name, kinds in expected.items()
        for kind, digest in kinds.items()
        if got.get(name, {}).get(kind) != digest
    }
    assert not changed, f"behaviour changed: {sorted(changed)}"


if __name__ == "__main__":  # python tests/test_golden.py --record
    import tempfile

    if "--record" not in sys.argv:
        sys.exit("usage: python tests/test_golden.py --record")
    with tempfile.TemporaryDirectory() as d:
        digests = all_digests(Path(d))
    GOLDEN.mkdir(exist_ok=True)
    path = GOLDEN / f"{machine_key()}.json"
    path.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")
