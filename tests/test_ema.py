import torch
from torch import nn

from ganforge.training.ema import EMA


def test_ema_tracks_weights_and_copies_batchnorm_buffers():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ema = EMA(model, decay=0.9)
    with torch.no_grad():
        model[0].weight.add_(1.0)
    model.train()
    model(torch.randn(8, 3) * 5 + 2)  # moves BN running stats
    ema.update()
    beta = min(0.9, 2 / 11)  # warm-up at the first update
    w0 = ema.module[0].weight
    expected = beta * (model[0].weight - 1.0) + (1 - beta) * model[0].weight
    torch.testing.assert_close(w0, expected)
    torch.testing.assert_close(ema.module[1].running_mean, model[1].running_mean)
    torch.testing.assert_close(ema.module[1].running_var, model[1].running_var)
    assert not ema.module.training
    assert not any(p.requires_grad for p in ema.module.parameters())


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
