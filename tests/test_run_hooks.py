"""The hooks around a run (run_hooks) and the toy's hooks: composition, schedules, evaluation."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
import torch

from ganforge.config import Config
from ganforge.errors import GanforgeError
from ganforge.games.adversarial import AdversarialGame
from ganforge.metrics.during_training import evaluate_generator
from ganforge.run_hooks import Evaluation, Grids, Report, _schedule, view_hooks
from ganforge.toy import LinearDecay, toy_config, train_toy
from ganforge.training.loop import Loop


def test_view_hooks_follow_the_config():
    kinds = [type(h) for h in view_hooks(Config(eval_every=0, report=False))]
    assert kinds == [Grids]
    kinds = [type(h) for h in view_hooks(Config(eval_every=5, report=True))]
    assert kinds == [Grids, Evaluation, Report]


def test_grid_schedule_every_n_steps_or_each_tenth():
    assert _schedule(4, 10) == {4, 8}
    assert _schedule(0, 20) == {2, 4, 6, 8, 10, 12, 14, 16, 18, 20}
    assert 300 in _schedule(100, None) and 301 not in _schedule(100, None)
    assert _schedule(0, None) == set()


def test_time_budget_grids_count_tenths_of_the_whole_budget_across_resumes(tmp_path):
    """A run resumed at 55 % of its time budget draws its next grid at 60 %, not at 10 % of
    the resumed session (which started a second series of ten grids)."""
    done = [0.55]
    now = time.monotonic()
    loop = SimpleNamespace(
        cfg=SimpleNamespace(sample_every=0, steps=0, epochs=0, seed=0),
        game=SimpleNamespace(grid_shape=lambda: (4, 2), fixed_inputs=lambda *a, **k: {}),
        out=tmp_path,
        device="cpu",
        total=None,
        started=now,
        deadline=now + 600,  # the resumed session has barely begun
        progress=lambda: done[0],
    )
    grids = Grids()
    grids.on_start(loop)
    assert grids.next_tenth == 6 and not grids._tenth_due(loop)
    done[0] = 0.601
    assert grids._tenth_due(loop) and not grids._tenth_due(loop)
    done[0] = 0.95
    assert grids._tenth_due(loop) and grids.next_tenth == 10


def test_toy_linear_decay_is_lambda_lr_of_the_steps_done():
    cfg = toy_config("gan", "ring8", steps=10, lr_decay_start=0.5)
    decay = LinearDecay(cfg)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=cfg.lr_g)
    ref = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0 if i < 5 else max(0.0, (10 - i) / 5))
    for done in range(10):
        assert cfg.lr_g * decay.factor(done) == opt.param_groups[0]["lr"]
        opt.step()
        ref.step()
    assert [decay.factor(d) for d in (0, 4, 5, 6, 9)] == [1.0, 1.0, 1.0, 0.8, 0.2]


def test_toy_runs_the_loop_with_snapshots():
    cfg = toy_config("gan", "ring8", steps=6, g_width=8, d_width=8, batch_size=16)
    run = train_toy(cfg, snapshots=3)
    assert [s for s, _ in run.snapshots] == [0, 2, 4, 6]
    assert all(x.shape == (500, 2) for _, x in run.snapshots)
    assert run.samples.shape == (2500, 2)


def test_fd_during_training_draws_only_where_an_extractor_fits():
    drawn = []

    def draw(n: int, seed: int) -> torch.Tensor:
        drawn.append((n, seed))
        return torch.zeros(n, 3, 8, 8)

    assert evaluate_generator(Config(dataset="ring8"), draw) == {}
    assert drawn == []  # no extractor for this dataset: nothing drawn
    cfg = Config(dataset="fashion-mnist", eval_samples=700)
    assert evaluate_generator(cfg, draw) == {}  # images of another shape than the extractor's
    assert drawn == [(500, 12345)]


def test_grids_refuse_a_loop_without_a_run_folder():
    cfg = toy_config("gan", "ring8", steps=1, g_width=8, d_width=8)
    game = AdversarialGame(cfg, (2,))
    opt = torch.optim.SGD(game.parameters(), lr=0.1)
    loop = Loop(cfg, game, opt, opt, iter(()), device=torch.device("cpu"), hooks=[Grids()])
    with pytest.raises(GanforgeError, match="sample grids need a run folder"):
        loop.run()
