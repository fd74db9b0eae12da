"""Arithmetic precision: autocast contexts and gradient scaling per device."""

from __future__ import annotations

import contextlib

import torch

from ganforge.errors import ConfigError

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check(precision: str, device: torch.device) -> None:
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("precision=fp16 needs a CUDA device; on CPU use precision=bf16")


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
