"""The training loop on a fake game: hook order and step numbers, k D steps per G step, the
fakes a G step reuses, a failing hook, non-finite losses, checkpoints and an exact resume."""

from __future__ import annotations

import json
import time

import pytest
import torch
from torch import nn

from ganforge.config import Config
from ganforge.games.base import DStep, Game
from ganforge.run_dir import prepare_new
from ganforge.training import checkpoint as ckpt
from ganforge.training.hook import Hook
from ganforge.training.hooks import MetricsLog
from ganforge.training.loop import Loop
from ganforge.training.outcome import Diverged


class FakeGame(Game):
    """G(z) = a·z, D(x) = b·x; the losses are D's and G's means, so every step moves both."""

    def __init__(self, nan_from: int | None = None):
        super().__init__()
        self.G, self.D = nn.Linear(1, 1, bias=False), nn.Linear(1, 1, bias=False)
        self.calls: list[tuple[str, int, bool]] = []
        self.nan_from = nan_from
        self.optimizers: tuple | None = None

    def bind_optimizers(self, opt_g, opt_d) -> None:
        self.optimizers = (opt_g, opt_d)

    def d_loss(self, batch, step, keep_fakes=True) -> DStep:
        self.calls.append(("d", step, keep_fakes))
        fake = self.G(torch.randn(4, 1))
        loss = self.D(fake.detach()).mean() - self.D(batch).mean()
        if self.nan_from is not None and step >= self.nan_from:
            loss = loss * float("nan")
        return DStep(loss, {"real": batch.mean()}, fake if keep_fakes else None)

    def g_loss(self, batch, step, fakes=None):
        self.calls.append(("g", step, fakes is not None))
        return -self.D(fakes).mean(), {}

    def describe(self) -> dict:
        return {"fake": 1}


class Stream:
    """Batches of a seeded normal; a position to save and restore."""

    epochs_done, per_epoch = 0.0, 10

    def __init__(self):
        self.i = 0

    def __next__(self):
        self.i += 1
        return torch.randn(4, 1, generator=torch.Generator().manual_seed(self.i))

    def state_dict(self):
        return {"i": self.i}

    def load_state_dict(self, state):
        self.i = state["i"]


class Recorder(Hook):
    def __init__(self, fail_at: int | None = None):
        self.events: list[tuple] = []
        self.fail_at = fail_at

    def on_start(self, loop):
        self.events.append(("start", loop.step))

    def before_step(self, loop, step):
        self.events.append(("before", step))

    def on_log(self, loop, step, logs):
        self.events.append(("log", step, sorted(logs)))

    def on_step(self, loop, step):
        self.events.append(("step", step))
        if step == self.fail_at:
            raise RuntimeError("hook failed")

    def on_end(self, loop, summary):
        self.events.append(("end", summary.steps))

    def on_close(self, loop):
        self.events.append(("close",))


def make_loop(out=None, hooks=(), game=None, **cfg_kw) -> Loop:
    cfg = Config(**{"steps": 4, "log_every": 2, "device": "cpu", "ema": 0.0, **cfg_kw})
    torch.manual_seed(0)
    game = game or FakeGame()
    opt_g = torch.optim.SGD(game.G.parameters(), lr=0.1)
    opt_d = torch.optim.SGD(game.D.parameters(), lr=0.1)
    if out is not None:
        prepare_new(out, force=False)
    return Loop(cfg, game, opt_g, opt_d, Stream(), device=torch.device("cpu"), out=out, hooks=hooks)


def test_hooks_are_called_in_order_with_the_step_numbers():
    rec = Recorder()
    summary = make_loop(hooks=[rec]).run()
    assert summary.steps == 4
    keys = ["d_loss", "elapsed", "epoch", "g_loss", "images_per_sec", "real", "step"]
    assert rec.events == [
        ("start", 0),
        ("before", 0), ("step", 1),
        ("before", 1), ("log", 2, keys), ("step", 2),
        ("before", 2), ("step", 3),
        ("before", 3), ("log", 4, keys), ("step", 4),
        ("end", 4),
        ("close",),
    ]  # fmt: skip


def test_k_d_steps_per_g_step_and_the_g_step_reuses_the_last_fakes():
    loop = make_loop(d_steps=3, steps=2)
    loop.run()
    assert loop.game.calls == [
        ("d", 0, False), ("d", 0, False), ("d", 0, True), ("g", 0, True),
        ("d", 1, False), ("d", 1, False), ("d", 1, True), ("g", 1, True),
    ]  # fmt: skip
    assert loop.batches.i == 6  # a fresh real batch for every D step
    assert loop.game.optimizers == (loop.opt_g, loop.opt_d)  # bound, not set on the game


def test_a_hook_that_raises_stops_the_run_and_says_so(tmp_path):
    rec = Recorder(fail_at=2)
    loop = make_loop(tmp_path / "run", hooks=[rec])
    with pytest.raises(RuntimeError, match="hook failed"):
        loop.run()
    assert rec.events[-1] == ("close",) and ("end", 4) not in rec.events
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["status"] == "failed" and info["steps"] == 2
    assert info["error"] == "RuntimeError: hook failed"


def test_a_non_finite_loss_stops_with_the_last_good_checkpoint(tmp_path):
    loop = make_loop(tmp_path / "run", game=FakeGame(nan_from=3), steps=8, checkpoint_every=2)
    with pytest.raises(
        Diverged, match="non-finite loss at step 4; stopped. Last good checkpoint: step-000002"
    ):
        loop.run()
    assert [p.name for p in ckpt.checkpoint_files(tmp_path / "run" / "checkpoints")] == [
        "step-000002.safetensors"
    ]
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "diverged"


def test_on_nan_skip_leaves_d_unchanged_by_a_non_finite_loss():
    loop = make_loop(game=FakeGame(nan_from=0), on_nan="skip", steps=3)
    before = loop.game.D.weight.detach().clone()
    loop.run()
    assert torch.equal(loop.game.D.weight, before)


def test_a_loop_without_a_run_folder_trains_on_through_nan():
    loop = make_loop(game=FakeGame(nan_from=1), steps=3)
    assert loop.run().steps == 3  # the toy scores a diverged G instead of stopping


def test_resume_from_a_checkpoint_continues_exactly(tmp_path):
    whole = make_loop(tmp_path / "whole", steps=6)
    whole.run()
    half = make_loop(tmp_path / "half", hooks=[MetricsLog(tmp_path / "half")], steps=3)
    half.run()
    metrics = tmp_path / "half" / "metrics.jsonl"
    with open(metrics, "a") as fh:  # logged after the checkpoint, then a line cut by a kill
        fh.write(json.dumps({"step": 5}) + "\n" + '{"step": 6, "d_lo')
    resumed = make_loop(tmp_path / "other", hooks=[MetricsLog(tmp_path / "half")], steps=6)
    resumed.out, resumed.ckpt_dir = half.out, half.ckpt_dir  # the same run folder, reopened
    resumed.restore()
    assert resumed.step == 3 and resumed.batches.i == 3
    resumed.run()
    for a, b in zip(whole.game.parameters(), resumed.game.parameters(), strict=True):
        assert torch.equal(a, b)
    assert [json.loads(ln)["step"] for ln in metrics.read_text().splitlines()] == [2, 3, 4, 6]


def test_a_spent_budget_is_refused(tmp_path):
    loop = make_loop(steps=2)
    loop.run()
    with pytest.raises(Exception, match="already reached step 2; pass --steps N with N > 2"):
        loop.run()


def test_a_time_budget_schedule_continues_where_a_resumed_run_stopped():
    """A run that trained 60 s and resumes for its last minute is half way through its
    schedule (StarGAN's and CycleGAN's lr decay), not back at the start."""
    from types import SimpleNamespace

    from ganforge.training.hooks import GameSchedule

    seen = []
    now = time.monotonic()
    loop = SimpleNamespace(
        total=None, step=7, started=now, deadline=now + 60, wall_before=60.0,
        cfg=SimpleNamespace(minutes=1.0, lr_g=1e-3, lr_d=2e-3),
        game=SimpleNamespace(lr_scale=lambda p: seen.append(p) or 0.5, lazy_ratio=lambda w: 1.0),
        opt_g=SimpleNamespace(param_groups=[{}]), opt_d=SimpleNamespace(param_groups=[{}]),
    )  # fmt: skip
    loop.progress = lambda: Loop.progress(loop)
    loop._wall = lambda t0: Loop._wall(loop, t0)
    GameSchedule().before_step(loop, 7)
    assert seen == [pytest.approx(0.5, abs=0.01)]
    assert loop.opt_g.param_groups[0]["lr"] == 5e-4 and loop.opt_d.param_groups[0]["lr"] == 1e-3
    loop.total = 20  # a step budget: steps done over the total
    assert Loop.progress(loop) == 7 / 20
