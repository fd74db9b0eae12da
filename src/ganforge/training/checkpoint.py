"""Checkpoints: one safetensors file per save, never pickle.

Tensors (weights, optimiser moments, RNG states) are stored as safetensors; everything else
(step, config, optimiser hyper-parameters, data position) is JSON in the file's metadata under
the key ``ganforge``. Writes are atomic: temporary file, fsync, rename, fsync of the folder, so a
crash at any moment leaves the previous checkpoint intact and loadable.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from ganforge.errors import CheckpointError
from ganforge.run_dir import write_atomic

FORMAT = "ganforge-checkpoint"
VERSION = 1
STEP_FILE = re.compile(r"^step-(\d{6,})\.safetensors$")


def split_tensors(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace every tensor in a nested dict/list by a reference, collecting the tensors."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj.detach().to("cpu").contiguous().clone()
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        return {
            "__dict__": [
                [_key(k), split_tensors(v, f"{prefix}/{k}", tensors)] for k, v in obj.items()
            ]
        }
    if isinstance(obj, list | tuple):
        return [split_tensors(v, f"{prefix}/{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, float) and obj != obj:
        return {"__float__": "nan"}
    return obj


def join_tensors(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`split_tensors`."""
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__float__" in obj:
            return float(obj["__float__"])
        return {_unkey(k): join_tensors(v, tensors) for k, v in obj["__dict__"]}
    if isinstance(obj, list):
        return [join_tensors(v, tensors) for v in obj]
    return obj


def _key(k: Any) -> Any:
    return {"__int__": k} if isinstance(k, int) else k


def _unkey(k: Any) -> Any:
    return k["__int__"] if isinstance(k, dict) else k


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Atomically write ``state`` (nested dicts of tensors and JSON values) to ``path``."""
    path = Path(path)
    tensors: dict[str, torch.Tensor] = {}
    meta = split_tensors(state, "", tensors)
    header = json.dumps(
        {"format": FORMAT, "version": VERSION, "state": meta}, sort_keys=True, separators=(",", ":")
    )
    data = st_save(tensors, metadata={"ganforge": header})
    write_atomic(
        path,
        data,
        "; the previous checkpoint is intact (free some disk space, then resume)",
        durable=True,
        what="checkpoint ",
    )
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`; never executes code from the file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    if not raw:
        raise CheckpointError(f"{path} is empty (0 bytes): not a ganforge checkpoint")
    # safetensors: an 8-byte little-endian header length, then a JSON header starting with '{'.
    # Anything else is refused before any parsing; in particular pickles (first byte 0x80 or a
    # protocol-0 opcode) and torch.save zips ('PK') are never handed to an unpickler.
    if len(raw) < 9 or raw[8:9] != b"{":
        kind = (
            "looks like a pickle/zip"
            if raw[:1] in (b"\x80", b"c", b"(", b"}", b"]") or raw[:2] == b"PK"
            else "not a safetensors file"
        )
        raise CheckpointError(
            f"{path} is not a ganforge checkpoint ({kind}); ganforge never unpickles files"
        )
    header_len = int.from_bytes(raw[:8], "little")
    if header_len <= 0 or 8 + header_len > len(raw):
        raise CheckpointError(f"{path} is truncated or not a ganforge checkpoint")
    try:
        meta = json.loads(raw[8 : 8 + header_len]).get("__metadata__") or {}
        info = json.loads(meta["ganforge"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise CheckpointError(
            f"{path} is not a ganforge checkpoint (no ganforge metadata)"
        ) from None
    if info.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a ganforge checkpoint")
    if info.get("version") != VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {info.get('version')}, this ganforge "
            f"reads version {VERSION}"
        )
    try:
        tensors = st_load(raw)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path} is truncated or corrupt: {exc}") from None
    try:
        return join_tensors(info["state"], tensors)
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"{path} is corrupt (tensors missing)") from None


def checkpoint_files(directory: str | Path) -> list[Path]:
    """Step checkpoints in ``directory``, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := STEP_FILE.match(p.name))]
    return [p for _, p in sorted(found)]


def step_path(directory: str | Path, step: int) -> Path:
    return Path(directory) / f"step-{step:06d}.safetensors"


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The newest step checkpoint that loads; older ones are tried if the newest is damaged.

    Each refused file is named on stderr with the reason, so a planted or damaged file is
    never skipped silently.
    """
    for path in reversed(checkpoint_files(directory)):
        try:
            load_checkpoint(path)
        except CheckpointError as exc:
            print(f"ganforge: warning: skipping {exc}", file=sys.stderr)
            continue
        return path
    return None


def remove_stale_temporaries(directory: str | Path) -> int:
    """Delete half-written ``.NAME.*.tmp`` files left by a process killed while saving."""
    directory, removed = Path(directory), 0
    if not directory.is_dir():
        return 0
    for path in directory.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            path.unlink()
            removed += 1
    return removed


def prune(directory: str | Path, keep: int) -> None:
    """Delete all but the ``keep`` newest step checkpoints (``best`` is never touched)."""
    for path in checkpoint_files(directory)[:-keep]:
        with contextlib.suppress(OSError):
            path.unlink()


@torch.no_grad()
def restore_optimizer_layout(opt: torch.optim.Optimizer) -> None:
    """Lay every per-parameter state tensor out in memory like its parameter.

    Checkpoints store tensors contiguous, and ``Optimizer.load_state_dict`` keeps that layout.
    The fused Adam kernel walks a parameter and its moments as raw memory, so moments in
    standard order beside channels_last weights are applied to the wrong elements and a
    resumed run silently diverges from the uninterrupted one. ``empty_like`` keeps the
    parameter's strides; the values are copied over unchanged.
    """
    for group in opt.param_groups:
        for p in group["params"]:
            for name, value in opt.state.get(p, {}).items():
                if (
                    torch.is_tensor(value)
                    and value.shape == p.shape
                    and value.stride() != p.stride()
                ):
                    opt.state[p][name] = torch.empty_like(p, dtype=value.dtype).copy_(value)
