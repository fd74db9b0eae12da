"""Arithmetic precision: autocast contexts and gradient scaling per device."""

from __future__ import annotations

import contextlib

import torch

from ganforge.errors import ConfigError

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check(precision: str, device: torch.device) -> None:
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("precision=fp16 needs a CUDA device; on CPU use precision=bf16")


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN runs bf16 natively on this CPU (AVX-512 or newer); True when unknown."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return True


def slow_precision_warning(precision: str, device: torch.device) -> str | None:
    """One warning line when the chosen precision is emulated here and slower than fp32."""
    if precision == "bf16" and device.type == "cpu" and not cpu_has_native_bf16():
        return (
            f"ganforge: warning: this CPU ({torch.backends.cpu.get_cpu_capability()}) has no "
            "native bf16, so bf16 autocast is emulated and much slower than fp32 (0.07x in "
            "docs/benchmarks.md); precision=fp32 is faster here"
        )
    return None


def autocast(precision: str, device: torch.device):
    """bf16/fp16 autocast for the forward passes; a no-op for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=DTYPES[precision])


def grad_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler | None:
    """fp16 on CUDA needs loss scaling; bf16 has fp32's range and does not."""
    if precision == "fp16" and device.type == "cuda":
        return torch.amp.GradScaler("cuda")
    return None
