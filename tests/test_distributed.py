"""Two CPU processes (Gloo) train the same tiny GAN as one process with the same global batch.

Model choice: the ``gan`` recipe (MLP) with ``g_norm=none`` (its D has no normalisation), so
each loss is a mean of per-sample terms and the mean over two half-batch replicas equals the
full-batch loss; with BatchNorm the per-rank batch statistics differ from the global ones and
only replica identity (not single-process equality) can hold, which the second config checks.
"""

from __future__ import annotations

import faulthandler
import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from ganforge.api import make_config
from ganforge.run_dir import read_json
from ganforge.training import checkpoint as ckpt
from ganforge.training.trainer import Trainer
from robust_util import tiny_folder

STEPS = 6


def _config(folder, g_norm: str, ema: float = 0.0):
    return make_config(
        "gan",
        {
            "dataset": f"folder:{folder}",
            "image_size": 8,
            "channels": 1,
            "g_width": 8,
            "d_width": 8,
            "batch_size": 16,
            "steps": STEPS,
            "g_norm": g_norm,
            "ema": ema,
            "device": "cpu",
            "precision": "fp32",  # 1 vs 2 processes agree to 1e-5 only in fp32
            "sample_every": 1000,
            "checkpoint_minutes": 0,
        },
    )


def _weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    state = {f"game.{k}": v for k, v in trainer.game.state_dict().items()}
    if trainer.ema:
        state.update({f"ema.{k}": v for k, v in trainer.ema.state_dict().items()})
    return {k: v.detach().clone().contiguous() for k, v in state.items()}


def _worker(rank: int, world: int, folder: str, tmp: str) -> None:
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
        GANFORGE_OFFLINE="1",
    )
    torch.set_num_threads(1)
    faulthandler.dump_traceback_later(240, exit=True)  # a hang fails the test, with stacks
    for name, g_norm, ema in (("plain", "none", 0.0), ("bn", "batch", 0.9)):
        # a file rendezvous: no TCP port to race for on a shared machine (the trainer joins
        # an existing group instead of creating one from MASTER_ADDR/PORT)
        dist.init_process_group(
            "gloo", init_method=f"file://{tmp}/store-{name}", rank=rank, world_size=world
        )
        trainer = Trainer(_config(folder, g_norm, ema), f"{tmp}/{name}-dist", progress=False)
        trainer.run()
        save_file(_weights(trainer), f"{tmp}/{name}-rank{rank}.safetensors")


def test_two_processes_match_one(tmp_path, monkeypatch):
    folder = tiny_folder(tmp_path / "imgs")
    ctx = mp.start_processes(
        _worker,
        args=(2, str(folder), str(tmp_path)),
        nprocs=2,
        join=False,
        start_method="spawn",
    )
    while not ctx.join(timeout=5):  # raises when a worker fails (and stops the other)
        pass
    for name in ("plain", "bn"):
        r0 = load_file(tmp_path / f"{name}-rank0.safetensors")
        r1 = load_file(tmp_path / f"{name}-rank1.safetensors")
        assert r0.keys() == r1.keys()
        for k in r0:  # replicas bit-identical, BatchNorm buffers and EMA included
            assert torch.equal(r0[k], r1[k]), f"{name}: {k} differs across ranks"
        info = read_json(tmp_path / f"{name}-dist" / "run.json")
        assert info["world_size"] == 2 and info["replicas_identical"] is True
        assert info["steps"] == STEPS and info["status"] == "finished"
        # only rank 0 wrote the run directory: one checkpoint of the global run
        final = ckpt.load_checkpoint(
            tmp_path / f"{name}-dist/checkpoints/step-{STEPS:06d}.safetensors"
        )
        assert final["batches"] == {"epoch": 1, "index": 2}  # 6 steps of 4 per epoch, per rank
        assert torch.equal(final["models"]["G"]["net.0.weight"], r0["game.G.net.0.weight"])

    # one process, same seed, same global batch 16
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    init = Trainer(_config(folder, "none"), tmp_path / "init", progress=False)
    start = _weights(init)
    single = Trainer(_config(folder, "none"), tmp_path / "single", progress=False)
    single.run()
    ref = _weights(single)
    r0 = load_file(tmp_path / "plain-rank0.safetensors")
    moved = sum((ref[k] - start[k]).float().pow(2).sum() for k in ref).sqrt()
    diff = sum((ref[k] - r0[k]).float().pow(2).sum() for k in ref).sqrt()
    worst = max((ref[k] - r0[k]).abs().max().item() for k in ref)
    print(f"update norm {moved:.4g}, distance 1 vs 2 processes {diff:.3g}, max {worst:.3g}")
    assert moved > 1e-3
    assert diff / moved < 1e-5, f"2-process run differs from 1 process: {diff / moved:.2e}"
    assert worst < 1e-6
