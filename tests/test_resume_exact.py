"""Exact resume for every recipe: a run cut back to an early checkpoint (as after a crash right
after it was written) and resumed must end byte-identical to the uninterrupted run.

Before the fix, conv recipes (channels_last weights) resumed with fused-Adam moments restored in
standard memory order, so the moments were applied to the wrong elements (issue 16.1 / 24.1).
Runs use torch's default thread count (not the suite's single thread) and tiny widths.
"""

from __future__ import annotations

import os
import shutil

import pytest
import torch

from ganforge.recipes import RECIPES
from ganforge.training import checkpoint as ckpt
from ganforge.training.checkpoint import restore_optimizer_layout

SMALL = ["--set", "g_width=8", "--set", "d_width=8", "--set", "report=false"]
SMALL += ["--set", "sample_every=1000", "--set", "keep_checkpoints=10"]
SMALL += ["--set", "checkpoint_every=4", "--set", "checkpoint_minutes=0"]


@pytest.fixture
def default_threads():
    """torch's default thread count (one per core) for the duration of a test."""
    before = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)
    yield
    torch.set_num_threads(before)


def _extra(recipe: str) -> list[str]:
    if recipe in ("pix2pix", "cyclegan"):  # 16 px: the smallest CycleGAN's norms accept
        return ["--batch-size", "4", "--image-size", "16"]
    if RECIPES[recipe].overrides.get("arch") == "mlp":
        return ["--batch-size", "16"]
    return ["--batch-size", "8"]


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_cut_back_resume_is_byte_identical(recipe, tmp_path, cli, default_threads):
    run = tmp_path / "run"
    args = ["train", recipe, "--steps", "12", "--seed", "3", *SMALL, *_extra(recipe)]
    rc, _, err = cli(*args, "--out", run)
    assert rc == 0, err
    cut = tmp_path / "cut"
    shutil.copytree(run, cut)
    for step in (8, 12):  # a crash right after step 4's checkpoint
        ckpt.step_path(cut / "checkpoints", step).unlink()
    rc, _, err = cli("train", "--resume", cut)
    assert rc == 0, err
    a = ckpt.step_path(run / "checkpoints", 12).read_bytes()
    b = ckpt.step_path(cut / "checkpoints", 12).read_bytes()
    assert a == b, f"{recipe}: resumed step-12 checkpoint differs from the uninterrupted run's"


def test_optimizer_state_takes_its_parameters_memory_layout():
    """Restored Adam moments are laid out like their (channels_last) parameters."""
    conv = torch.nn.Conv2d(3, 4, 3).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(conv.parameters(), fused=True)
    conv(torch.randn(2, 3, 5, 5)).sum().backward()
    opt.step()
    saved = {k: v for k, v in opt.state_dict().items()}
    saved["state"] = {
        i: {k: (v.contiguous() if v.dim() == 4 else v) for k, v in s.items()}
        for i, s in saved["state"].items()
    }
    opt2 = torch.optim.Adam(conv.parameters(), fused=True)
    opt2.load_state_dict(saved)
    restore_optimizer_layout(opt2)
    for p in conv.parameters():
        for name in ("exp_avg", "exp_avg_sq"):
            moment = opt2.state[p][name]
            assert moment.stride() == p.stride(), name
            torch.testing.assert_close(moment, opt.state[p][name], rtol=0, atol=0)


def test_resume_keeps_the_thread_count_the_run_chose(tmp_path, cli, default_threads):
    """Automatic threads follow the machine's load, and a different count can change the
    arithmetic: a resume takes the count of the run it resumes."""
    import json

    run = tmp_path / "run"
    rc, _, err = cli("train", "gan", "--steps", "2", *SMALL, "--out", run)
    assert rc == 0, err
    info = json.loads((run / "run.json").read_text())
    assert info["threads"] >= 1
    info["threads"] = 1
    (run / "run.json").write_text(json.dumps(info))
    torch.set_num_threads(2)
    rc, _, err = cli("train", "--resume", run, "--steps", "3")
    assert rc == 0, err
    assert "1 CPU thread(s), as the run being resumed" in err
    assert torch.get_num_threads() == 1
    assert json.loads((run / "run.json").read_text())["threads"] == 1
