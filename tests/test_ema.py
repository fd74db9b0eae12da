import torch
from torch import nn

from ganforge.training import checkpoint as ckpt
from ganforge.training.ema import EMA


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))


def _draw(n, gen):
    return torch.randn(n, 3, generator=gen) * 2 + 1


def test_ema_tracks_weights_and_leaves_the_live_batchnorm_statistics():
    model = _model()
    ema = EMA(model, decay=0.9)
    with torch.no_grad():
        model[0].weight.add_(1.0)
    model.train()
    model(torch.randn(8, 3) * 5 + 2)  # moves the live G's BN running stats
    ema.update()
    beta = min(0.9, 2 / 11)  # warm-up at the first update
    expected = beta * (model[0].weight - 1.0) + (1 - beta) * model[0].weight
    torch.testing.assert_close(ema.module[0].weight, expected)
    # the live G's statistics describe the live weights: they are not copied (issue 16.3)
    assert not torch.equal(ema.module[1].running_mean, model[1].running_mean)
    assert not ema.module.training
    assert not any(p.requires_grad for p in ema.module.parameters())


def test_standing_statistics_are_the_averaged_weights_own():
    """Cumulative mean of per-batch mean/unbiased variance of the EMA G's own activations."""
    model = _model()
    ema = EMA(model, decay=0.5)
    with torch.no_grad():
        model[0].weight.mul_(3.0)
    ema.update()
    ema.standing_statistics(_draw, seed=7, batches=4, batch_size=32)
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        acts = [ema.module[0](_draw(32, gen)) for _ in range(4)]
    mean = torch.stack([a.mean(0) for a in acts]).mean(0)
    var = torch.stack([a.var(0, unbiased=True) for a in acts]).mean(0)
    torch.testing.assert_close(ema.module[1].running_mean, mean)
    torch.testing.assert_close(ema.module[1].running_var, var)
    assert ema.module[1].momentum == 0.1 and not ema.module.training
    # unchanged weights: no new estimate; changed weights: a new one
    before = ema.module[1].running_mean.clone()
    ema.standing_statistics(lambda n, g: _draw(n, g) * 100, seed=7, batches=4, batch_size=32)
    assert torch.equal(ema.module[1].running_mean, before)
    ema.update()
    ema.standing_statistics(lambda n, g: _draw(n, g) * 100, seed=7, batches=4, batch_size=32)
    assert not torch.equal(ema.module[1].running_mean, before)


def test_ema_decay_reaches_its_ceiling():
    model = nn.Linear(1, 1)
    ema = EMA(model, decay=0.5)
    for _ in range(20):
        ema.update()
    with torch.no_grad():
        model.weight.fill_(1.0)
        ema.module.weight.fill_(0.0)
    ema.update()
    assert ema.module.weight.item() == 0.5  # beta = min(0.5, 22/31) = 0.5


def test_saved_ema_generator_has_standing_statistics(cli, tmp_path):
    """The checkpoint's EMA G carries BatchNorm statistics re-estimated for its own weights,
    not the live G's (which the old code copied)."""
    from ganforge.api import load_run
    from ganforge.training.ema import STANDING_STATS_SEED

    run = tmp_path / "run"
    args = ["train", "dcgan", "--steps", "6", "--out", run, "--batch-size", "8"]
    args += ["--set", "g_width=8", "--set", "d_width=8", "--set", "report=false"]
    rc, _, err = cli(*args, "--set", "ema=0.9")
    assert rc == 0, err
    state = ckpt.load_checkpoint(ckpt.latest_checkpoint(run / "checkpoints"))
    live, saved = state["models"]["G"], state["ema"]
    norms = [k for k in saved if k.endswith("running_mean")]
    assert norms and all(not torch.equal(saved[k], live[k]) for k in norms)
    loaded = load_run(run)
    G = loaded.G
    with torch.no_grad():  # re-estimate from the same seed: the saved statistics again
        ema = EMA(G, 0.9)
        ema.updates = 1
        ema.standing_statistics(loaded.game.prior_inputs, STANDING_STATS_SEED)  # seed 0
    for k in norms:
        torch.testing.assert_close(ema.module.state_dict()[k], saved[k])
