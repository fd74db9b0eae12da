"""Behaviour pinned by sha256: the restructuring (issue 17) must not change what a run computes.

For ``gan``, ``dcgan``, ``wgan-gp``, ``cgan``, ``infogan``, ``pix2pix`` and ``cyclegan`` at 30
steps, seed 1, one thread, through the command line as a user runs it: the sha256 of the final
checkpoint's state (every tensor and every saved value but the run's config, so that adding a
config key with a default that changes nothing does not count as a change) and of
``ganforge sample RUN --n 64 --out x.npy`` (pix2pix and CycleGAN have
no latents to sample: the final ``samples.png``, G applied to fixed test images); for a toy run (``gan`` on
ring8, 300 steps) the sha256 of its metrics and of its samples picture.

Floating-point kernels differ between instruction sets and CPU makers (oneDNN picks AVX-512 or
AVX2 code; an AMD and an Intel AVX-512 CPU gave different digests), so the expected digests are
kept per CPU capability, CPU vendor and torch version; on a machine without a record the test
is skipped and says how to record one. Two Intel AVX-512 CPUs, one without bf16 instructions,
also differed (pix2pix's samples), so a record may be kept per bf16 kind too
(``...-nobf16-...``, ``-avx512bf16-``, ``-amx-``): it is preferred to the vendor's record. A record may hold only some digests (the Intel record
was taken when checkpoints were hashed as files, so it keeps only its sample digests)::

    python tests/test_golden.py --record
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from pathlib import Path

import pytest
import torch

from ganforge.cli import main
from ganforge.training.checkpoint import load_checkpoint, split_tensors
from ganforge.training.precision import cpu_flags

RECIPES = ("gan", "dcgan", "wgan-gp", "cgan", "infogan", "pix2pix", "cyclegan")
TRANSLATORS = ("pix2pix", "cyclegan")
GOLDEN = Path(__file__).parent / "golden"


def cpu_vendor() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("vendor_id"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def bf16_kind() -> str:
    """The CPU's bf16 instructions from /proc/cpuinfo: amx, avx512bf16 or nobf16."""
    flags = cpu_flags() or set()
    return "amx" if "amx_bf16" in flags else "avx512bf16" if "avx512_bf16" in flags else "nobf16"


def machine_key(bf16: bool = False) -> str:
    torch_version = torch.__version__.split("+")[0]
    kind = f"-{bf16_kind()}" if bf16 else ""
    return f"{torch.backends.cpu.get_cpu_capability()}-{cpu_vendor()}{kind}-torch{torch_version}"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def state_digest(path: Path) -> str:
    """sha256 of a checkpoint's state without its config: values as sorted JSON, then each
    tensor's name, dtype, shape and bytes in name order."""
    state = load_checkpoint(path)
    state.pop("config")
    tensors: dict[str, torch.Tensor] = {}
    meta = split_tensors(state, "", tensors)
    h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for name in sorted(tensors):
        t = tensors[name].contiguous().reshape(-1)
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _run(argv: list[str]) -> None:
    code = main(argv)
    assert code == 0, f"ganforge {' '.join(argv)} exited with {code}"


def recipe_digests(recipe: str, tmp: Path) -> dict[str, str]:
    run = tmp / recipe
    # fp32 named: precision=auto would pick bf16 on a CPU with native bf16
    _run(["train", recipe, "--steps", "30", "--seed", "1", "--set", "threads=1",
          "--set", "precision=fp32", "--set", "report=false", "--out", str(run)])  # fmt: skip
    (last,) = sorted((run / "checkpoints").glob("step-*.safetensors"))[-1:]
    if recipe in TRANSLATORS:  # no latents to sample: their grid of translated test images
        return {"state": state_digest(last), "samples": sha256(run / "samples.png")}
    _run(["sample", str(run), "--n", "64", "--out", str(tmp / f"{recipe}.npy")])
    return {"state": state_digest(last), "samples": sha256(tmp / f"{recipe}.npy")}


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
    path = GOLDEN / f"{machine_key(bf16=True)}.json"
    if not path.exists():
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
    path = GOLDEN / f"{machine_key(bf16=True)}.json"
    path.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")
