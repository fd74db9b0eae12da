"""Arithmetic precision: autocast contexts and gradient scaling per device."""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from ganforge.errors import ConfigError

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve(precision: str, device: torch.device) -> str:
    """``auto`` as the precision it picks on ``device``; any other value as given.

    auto is bf16 autocast on a CPU that computes bf16 natively (AVX-512 BF16 or AMX): there the
    default recipe trained in bf16 reaches a lower FD than in fp32 at equal wall time
    (docs/bench/bf16.md). It is fp32 on every other CPU, where bf16 is emulated and slower
    (docs/bench/speed.md), and on CUDA, where it has not been measured.
    """
    if precision != "auto":
        return precision
    return "bf16" if device.type == "cpu" and cpu_has_native_bf16() else "fp32"


def check(precision: str, device: torch.device) -> None:
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("precision=fp16 needs a CUDA device; on CPU use precision=bf16")


def cpu_flags(cpuinfo: str | None = None) -> set[str] | None:
    """The CPU's feature flags from /proc/cpuinfo (x86 ``flags``, Arm ``Features``); None
    when there is no such file or line (not Linux)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return None
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return None


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes in bf16 natively: AVX-512 BF16 or AMX on x86, the BF16
    extension on Arm, read from /proc/cpuinfo. oneDNN's own probe answers True on every
    AVX-512 CPU, also those that only emulate bf16 (an Intel Xeon without AVX-512 BF16 here),
    so it is asked only where the flags cannot be read; True when nothing is known."""
    flags = cpu_flags(cpuinfo)
    if flags is not None:
        return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return True


def slow_precision_warning(precision: str, device: torch.device) -> str | None:
    """One warning line when the chosen precision is emulated here and slower than fp32."""
    if precision == "bf16" and device.type == "cpu" and not cpu_has_native_bf16():
        return (
            f"ganforge: warning: this CPU ({torch.backends.cpu.get_cpu_capability()}) has no "
            "native bf16, so bf16 autocast is emulated and slower than fp32 (dcgan: 0.07x on "
            "AVX2, 0.55x on AVX-512 without BF16; docs/bench/speed.md); precision=fp32 is "
            "faster here"
        )
    return None


def autocast(precision: str, device: torch.device):
    """bf16/fp16 autocast for the forward passes; a no-op for fp32."""
    precision = resolve(precision, device)
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=DTYPES[precision])


def grad_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler | None:
    """fp16 on CUDA needs loss scaling; bf16 has fp32's range and does not."""
    if resolve(precision, device) == "fp16" and device.type == "cuda":
        return torch.amp.GradScaler("cuda")
    return None
