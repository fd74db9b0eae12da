"""The loop's state as a checkpoint dict, and back: what an exact resume needs.

A checkpoint holds everything a step depends on: the step count, G and D, the EMA G, both
optimisers' moments, the loss scaler, the batch iterator's position (epoch permutation and
index), the game's own state (e.g. CycleGAN's image pools) and the torch RNG state (CPU and
CUDA). Restoring all of it makes a resumed run compute, bit for bit, what the uninterrupted
run computes (tests/test_resume_exact.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import torch

from ganforge.config import Config
from ganforge.errors import GanforgeError
from ganforge.games.base import Game
from ganforge.run_dir import read_json
from ganforge.training import checkpoint as ckpt
from ganforge.training.ema import EMA


class Stateful(Protocol):
    """What a checkpoint is made of (the training loop has all of it)."""

    step: int
    cfg: Config
    game: Game
    ema: EMA | None
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    scaler: torch.amp.GradScaler | None
    batches: Any
    device: torch.device


def capture(loop: Stateful) -> dict[str, Any]:
    """The checkpoint dict of ``loop`` now (call ``loop.sampler()`` first for the EMA G)."""
    rng: dict[str, Any] = {"torch": torch.get_rng_state()}
    if loop.device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(loop.device)
    return {
        "step": loop.step,
        "config": loop.cfg.to_dict(),
        "game": loop.game.describe(),
        "models": {"G": loop.game.G.state_dict(), "D": loop.game.D.state_dict()},
        "ema": loop.ema.state_dict() if loop.ema else None,
        "optim": {"g": loop.opt_g.state_dict(), "d": loop.opt_d.state_dict()},
        "scaler": loop.scaler.state_dict() if loop.scaler else None,
        "batches": loop.batches.state_dict(),
        "game_state": loop.game.extra_state(),
        "rng": rng,
    }


def restore(loop: Stateful, state: dict[str, Any], path: Path) -> None:
    """Inverse of :func:`capture`; a checkpoint of another config is one clear error."""
    game = loop.game
    if state["game"] != game.describe():
        raise GanforgeError(f"{path} was written by an incompatible config (game differs)")
    try:
        game.G.load_state_dict(state["models"]["G"])
        game.D.load_state_dict(state["models"]["D"])
        loop.opt_g.load_state_dict(state["optim"]["g"])
        loop.opt_d.load_state_dict(state["optim"]["d"])
        for opt in (loop.opt_g, loop.opt_d):
            ckpt.restore_optimizer_layout(opt)
        if loop.ema and state.get("ema"):
            loop.ema.load_state_dict(state["ema"], updates=int(state["step"]))
    except (RuntimeError, KeyError, ValueError) as exc:
        lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
        detail = next((ln for ln in lines if ln.startswith(("size mismatch", "Missing"))), "")
        first = (detail or (lines[0] if lines else type(exc).__name__)).rstrip(".")
        raise GanforgeError(
            f"{path} does not fit this run's models ({first}); was config.json edited?"
        ) from None
    if loop.scaler and state.get("scaler"):
        loop.scaler.load_state_dict(state["scaler"])
    loop.batches.load_state_dict(state["batches"])
    game.load_extra_state(state.get("game_state") or {})
    loop.step = int(state["step"])
    torch.set_rng_state(state["rng"]["torch"])
    if "cuda" in state["rng"] and loop.device.type == "cuda":
        torch.cuda.set_rng_state(state["rng"]["cuda"], loop.device)


def truncate_metrics(path: Path, step: int) -> None:
    """Drop metric lines logged after ``step`` (the checkpoint a run resumes from) and a line
    half written when the process was killed."""
    if not path.exists():
        return
    keep = []
    for ln in path.read_text().splitlines():
        try:
            line_step = json.loads(ln).get("step", 0)
        except (ValueError, AttributeError):
            continue
        if line_step <= step:
            keep.append(ln)
    path.write_text("".join(ln + "\n" for ln in keep))


def wall_seconds_before(run: Path) -> float:
    """Seconds a run trained before it was interrupted (run.json's ``wall_seconds``)."""
    return float(read_json(run / "run.json").get("wall_seconds", 0.0))


def resumed_threads(run: Path) -> int:
    """The thread count the run being resumed chose automatically (0: unknown)."""
    path = run / "run.json"
    try:
        return int(read_json(path).get("threads", 0)) if path.is_file() else 0
    except (GanforgeError, ValueError, TypeError):
        return 0
