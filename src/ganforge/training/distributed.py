"""Data-parallel training over several processes (``torchrun``), one replica of G and D each.

A single process is rank 0 of 1 and nothing here does anything. Under ``torchrun`` (RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT in the environment) :func:`init` joins the process
group (NCCL on CUDA, Gloo on CPU) and the trainer keeps the replicas identical with three
collectives, the same ones DistributedDataParallel uses (Li et al. 2020, "PyTorch Distributed:
Experiences on Accelerating Data Parallel Training", VLDB):

* :func:`broadcast_module` copies rank 0's parameters and buffers to every rank at the start
  (after a resume as well);
* :func:`average_gradients` replaces every gradient by its mean over ranks after each backward,
  g <- (1/W) sum_r g_r, so with per-rank batch B/W the update equals that of one process with
  global batch B (the per-rank losses are means over equal-sized shards);
* :func:`broadcast_buffers` copies rank 0's buffers (BatchNorm running statistics, spectral-norm
  vectors) to all ranks after every step, as DDP's ``broadcast_buffers=True`` does.

Why not wrap G and D in ``DistributedDataParallel`` itself: one GAN step runs D forward on
reals and fakes, a gradient penalty's double backward through ``autograd.grad``, then a G step
that runs D forward with D's parameters frozen. DDP's reducer expects every forward to be
followed by one backward that marks all (or all used) parameters ready, so the frozen-D forward
leaves a reduction pending and the next iteration fails, unless ``find_unused_parameters`` or
``static_graph`` (both costly or restrictive) are set. An explicit all-reduce of the gradients of
exactly the optimiser that steps is the same arithmetic with none of those constraints; gradients
are flattened into one bucket per dtype so each update costs one collective.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from ganforge.errors import ConfigError, GanforgeError


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def shard(self) -> tuple[int, int]:
        """(rank, world size): what a game needs to draw its slice of the global batch."""
        return self.rank, self.world_size


def context() -> DistContext:
    """Read rank and world size from torchrun's environment variables."""
    try:
        ctx = DistContext(
            int(os.environ.get("RANK", 0)),
            int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)),
        )
    except ValueError:
        raise ConfigError("RANK, WORLD_SIZE and LOCAL_RANK must be integers") from None
    if ctx.world_size < 1 or not 0 <= ctx.rank < ctx.world_size:
        raise ConfigError(f"bad RANK={ctx.rank} for WORLD_SIZE={ctx.world_size}")
    return ctx


def _dist():
    import torch.distributed as dist

    return dist


def init(ctx: DistContext, device: torch.device) -> torch.device:
    """Join the process group when ``WORLD_SIZE > 1``; returns this rank's device.

    CUDA ranks use ``cuda:LOCAL_RANK`` and NCCL; CPU ranks use Gloo.
    """
    if not ctx.enabled:
        return device
    dist = _dist()
    if device.type == "cuda":
        if ctx.local_rank >= torch.cuda.device_count():
            raise ConfigError(
                f"LOCAL_RANK {ctx.local_rank} but only {torch.cuda.device_count()} CUDA devices: "
                "use --nproc_per_node <= the number of GPUs"
            )
        device = torch.device("cuda", ctx.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        for var in ("MASTER_ADDR", "MASTER_PORT"):
            if var not in os.environ:
                raise ConfigError(
                    f"WORLD_SIZE={ctx.world_size} but {var} is not set: start with torchrun"
                )
        backend = "nccl" if device.type == "cuda" else "gloo"
        minutes = float(os.environ.get("GANFORGE_DIST_TIMEOUT_MIN", "30"))
        dist.init_process_group(
            backend,
            rank=ctx.rank,
            world_size=ctx.world_size,
            timeout=datetime.timedelta(minutes=minutes),
        )
    return device


def shutdown(ctx: DistContext) -> None:
    if ctx.enabled and _dist().is_initialized():
        _dist().destroy_process_group()


def agree(ctx: DistContext, values: list[float], device: torch.device) -> list[float]:
    """Element-wise maximum over ranks: every rank takes the same decision (stop, checkpoint)."""
    if not ctx.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    _dist().all_reduce(t, op=_dist().ReduceOp.MAX)
    return t.tolist()


def agree_mean(ctx: DistContext, values: torch.Tensor) -> torch.Tensor:
    """Mean over ranks of ``values`` (a float tensor); the input is left untouched."""
    out = values.detach().float().clone()
    if ctx.enabled:
        _dist().all_reduce(out)
        out /= ctx.world_size
    return out


def check_all_ok(ctx: DistContext, ok: bool, device: torch.device) -> None:
    """Raise on every rank when one rank failed (so no rank waits forever for the others)."""
    if ctx.enabled and agree(ctx, [0.0 if ok else 1.0], device)[0] > 0 and ok:
        raise GanforgeError("another process of this distributed run failed; see rank 0's error")


def _flat_apply(tensors: list[torch.Tensor], fn) -> None:
    """Apply the collective ``fn`` to ``tensors`` as one flat buffer per dtype, in place."""
    by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
    for t in tensors:
        by_dtype.setdefault(t.dtype, []).append(t)
    for group in by_dtype.values():
        flat = torch.cat([t.reshape(-1) for t in group])
        fn(flat)
        offset = 0
        for t in group:
            n = t.numel()
            t.copy_(flat[offset : offset + n].view_as(t))
            offset += n


def average_gradients(ctx: DistContext, params: Iterable[nn.Parameter]) -> None:
    """g <- mean over ranks of g, for every parameter that requires a gradient.

    A parameter without a gradient on this rank gets zeros, so all ranks call the collective
    with the same layout (a rank whose loss skipped a branch still takes part).
    """
    if not ctx.enabled:
        return
    grads = []
    for p in params:
        if not p.requires_grad:
            continue
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        grads.append(p.grad)
    if not grads:
        return
    world = ctx.world_size

    def mean(flat: torch.Tensor) -> None:
        _dist().all_reduce(flat)
        flat.div_(world)

    with torch.no_grad():
        _flat_apply(grads, mean)


def broadcast_buffers(ctx: DistContext, module: nn.Module) -> None:
    """Copy rank 0's buffers (BatchNorm statistics, spectral-norm vectors) to every rank."""
    if not ctx.enabled:
        return
    bufs = [b for b in module.buffers()]
    if bufs:
        with torch.no_grad():
            _flat_apply(bufs, lambda flat: _dist().broadcast(flat, src=0))


def broadcast_module(ctx: DistContext, module: nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank."""
    if not ctx.enabled:
        return
    tensors = [p.data for p in module.parameters()] + [b for b in module.buffers()]
    if tensors:
        with torch.no_grad():
            _flat_apply(tensors, lambda flat: _dist().broadcast(flat, src=0))


def replicas_identical(ctx: DistContext, module: nn.Module, device: torch.device) -> bool:
    """True when every rank holds bit-identical parameters and buffers (a cheap fingerprint:
    the float64 sums of the tensors' bytes viewed as integers, compared by max == min)."""
    if not ctx.enabled:
        return True
    acc = torch.zeros(2, dtype=torch.float64, device=device)
    with torch.no_grad():
        for i, t in enumerate(list(module.parameters()) + list(module.buffers())):
            b = t.detach().contiguous().view(-1).view(torch.uint8).to(torch.float64)
            acc[0] += (b * (1 + (torch.arange(b.numel(), device=b.device) % 251))).sum()
            acc[1] += b.sum() * (i + 1)
    hi, lo = acc.clone(), -acc.clone()
    _dist().all_reduce(hi, op=_dist().ReduceOp.MAX)
    _dist().all_reduce(lo, op=_dist().ReduceOp.MAX)
    return bool(torch.equal(hi, -lo))
