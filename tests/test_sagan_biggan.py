"""SAGAN and BigGAN (issue 21): the attention block, conditional BN, the hierarchical latent,
orthogonal regularisation, truncation, and both recipes end to end (train, export, report,
two processes). Exact resume of both recipes: tests/test_resume_exact.py (every recipe)."""

from __future__ import annotations

import faulthandler
import json
import os

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from ganforge import api
from ganforge.errors import ConfigError
from ganforge.games import build_game
from ganforge.games.biggan import BigGANGame, truncated_normal
from ganforge.models.attention import SelfAttention2d, attention_blocks
from ganforge.models.resnet_gan import ConditionalBatchNorm2d, ResGenerator
from ganforge.penalties import orthogonal_regulariser
from ganforge.run_dir import read_json
from ganforge.training.trainer import Trainer
from robust_util import tiny_folder

SMALL = {"g_width": 8, "d_width": 8, "batch_size": 8, "report": False, "shared_dim": 8}


def _game(recipe: str, classes: int = 10, size: int = 16, **kw):
    extra = {k: v for k, v in SMALL.items() if recipe == "biggan" or k != "shared_dim"}
    cfg = api.make_config(recipe, {**extra, **kw})
    torch.manual_seed(0)
    return build_game(cfg, (1, size, size), classes)


# ----------------------------------------------------------------------------- attention
def test_attention_is_the_identity_while_gamma_is_zero():
    torch.manual_seed(0)
    block = SelfAttention2d(16)
    x = torch.randn(2, 16, 8, 8)
    assert block.gamma.item() == 0.0
    assert torch.equal(block(x), x)
    with torch.no_grad():
        block.gamma.fill_(0.5)
    assert (block(x) - x).abs().max() > 1e-3  # the same input, now attended


def test_attention_weights_sum_to_one_over_the_pooled_keys():
    torch.manual_seed(0)
    block = SelfAttention2d(16)
    assert (block.query.out_channels, block.key.out_channels) == (2, 2)  # C/8
    assert (block.value.out_channels, block.out.in_channels) == (8, 8)  # C/2
    beta = block.weights(torch.randn(3, 16, 8, 6))
    assert beta.shape == (3, 48, 12)  # N queries x N/4 max-pooled keys
    assert (beta >= 0).all()
    torch.testing.assert_close(beta.sum(-1), torch.ones(3, 48))
    odd = block.weights(torch.randn(1, 16, 7, 7))  # a 28 px image's 7x7 map: ceil pooling
    assert odd.shape == (1, 49, 16)


# --------------------------------------------------------------------- orthogonal reg.
def test_orthogonal_regulariser_value_and_gradient_by_hand():
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]], requires_grad=True)
    # W W^T = [[5, 11, 2], [11, 25, 4], [2, 4, 1]]: off-diagonal squares 2 (121 + 4 + 16)
    value = orthogonal_regulariser([w])
    assert value.item() == pytest.approx(282.0)
    value.backward()
    m = torch.tensor([[0.0, 11.0, 2.0], [11.0, 0.0, 4.0], [2.0, 4.0, 0.0]])
    expected = 4 * m @ w.detach()  # d/dW ||(W W^T) * (1 - I)||^2 = 4 ((W W^T) * (1 - I)) W
    torch.testing.assert_close(w.grad, expected)
    conv = torch.zeros(2, 1, 1, 2)  # filters flattened to rows: orthogonal rows cost nothing
    conv[0, 0, 0, 0], conv[1, 0, 0, 1] = 3.0, -2.0
    assert orthogonal_regulariser([conv]).item() == 0.0


def test_biggan_g_loss_adds_beta_times_the_orthogonal_term():
    game = _game("biggan")
    assert isinstance(game, BigGANGame)
    assert game.G.shared is not None
    assert all(p is not game.G.shared for p in game.ortho_weights)
    batch = (torch.zeros(8, 1, 16, 16, dtype=torch.uint8), torch.arange(8) % 10)
    torch.manual_seed(1)
    loss, logs = game.g_loss(batch, 0)
    torch.manual_seed(1)
    game.cfg = game.cfg.with_overrides({"ortho_weight": 0.0})
    plain, _ = game.g_loss(batch, 0)
    assert logs["ortho"] > 0
    torch.testing.assert_close(loss - plain, 1e-4 * logs["ortho"], rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------- conditional BN
def test_conditional_bn_uses_the_class():
    torch.manual_seed(0)
    bn = ConditionalBatchNorm2d(4, 3)
    x = torch.randn(6, 4, 5, 5)
    y0, y1 = torch.eye(3)[[0] * 6], torch.eye(3)[[1] * 6]
    assert torch.equal(bn(x, y0), bn(x, y0))
    assert (bn(x, y0) - bn(x, y1)).abs().max() > 1e-3
    for recipe in ("sagan", "biggan"):  # the whole G, for a fixed z and two labels
        game = _game(recipe).eval()
        inputs = game.fixed_inputs(4, 3)
        a = game.render(game.G, inputs)
        assert torch.equal(a, game.render(game.G, inputs))
        b = game.render(game.G, {**inputs, "y": (inputs["y"] + 1) % 10})
        assert (a - b).abs().amax((1, 2, 3)).min() > 1e-4, recipe


def test_hierarchical_z_chunks_reach_every_block():
    torch.manual_seed(0)
    G = ResGenerator(12, 10, 1, 32, 4, 0.25, hierarchical=True, shared_dim=6)
    assert G.n_blocks == 3 and G.chunk_sizes == [3, 3, 3, 3]
    x = torch.cat([torch.randn(2, 12), torch.eye(10)[[2, 7]]], 1)
    stem, conds = G.conditions(x)
    assert [c.shape[1] for c in conds] == [3 + 6] * 3  # chunk + shared embedding
    assert [b.bn1.gain_weight.shape[1] for b in G.blocks] == [9, 9, 9]
    for i in range(4):  # perturbing chunk i changes exactly input i (0: the stem)
        x2 = x.clone()
        x2[:, 3 * i : 3 * i + 3] += 1.0
        stem2, conds2 = G.conditions(x2)
        changed = [
            not torch.equal(a, b) for a, b in zip([stem, *conds], [stem2, *conds2], strict=True)
        ]
        assert changed == [j == i for j in range(4)]
        with torch.no_grad():
            assert (G.eval()(x) - G(x2)).abs().max() > 0


# ------------------------------------------------------------------------- truncation
def test_truncation_resamples_exactly_the_entries_above_the_threshold():
    z = torch.randn(64, 120, generator=torch.Generator().manual_seed(0))
    out = truncated_normal(z, 0.5, torch.Generator().manual_seed(1))
    big = z.abs() > 0.5
    assert out.abs().max() <= 0.5
    assert torch.equal(out[~big], z[~big])  # untouched entries keep their bytes
    assert (out[big] != z[big]).all()
    again = truncated_normal(z, 0.5, torch.Generator().manual_seed(1))
    assert torch.equal(out, again)
    game = _game("biggan")
    inputs = game.fixed_inputs(8, 2)
    cut = game.truncate(inputs, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(cut["y"], inputs["y"]) and cut["z"].abs().max() <= 1.0
    with pytest.raises(ConfigError, match="must be > 0"):
        game.truncate(inputs, 0.0, torch.Generator())


def test_sagan_refuses_truncation():
    game = _game("sagan")
    with pytest.raises(ConfigError, match="biggan: resampled z"):
        game.truncate(game.fixed_inputs(2, 0), 0.5, torch.Generator())


# --------------------------------------------------------------------------- config
@pytest.mark.parametrize(
    "recipe, overrides, words",
    [
        ("sagan", ["--set", "d_norm=batch"], "has no normalisation layers: set d_norm=none"),
        ("biggan", ["--set", "g_norm=layer"], "conditional) BatchNorm"),
        ("projection", ["--set", "conditioning=cbn"], "use arch=sagan or biggan"),
        ("dcgan", ["--set", "ortho_weight=0.1"], "acts only with arch=biggan"),
        ("hinge-sn", ["--set", "attention_fraction=0.5"], "with arch=sagan or biggan"),
    ],
)
def test_misplaced_keys_are_refused_in_one_line(recipe, overrides, words, cli, tmp_path):
    rc, _, err = cli("train", recipe, "--steps", "1", *overrides, "--out", tmp_path / "r")
    assert rc == 2 and words in err and len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------- end to end
@pytest.mark.parametrize("recipe", ["sagan", "biggan"])
def test_recipe_trains_exports_and_reports_attention(recipe, cli, tmp_path):
    from ganforge.export import load_exported

    run = tmp_path / recipe
    sets = [f"--set={k}={v}" for k, v in {**SMALL, "report": True}.items()]
    if recipe == "sagan":
        sets = [s for s in sets if "shared_dim" not in s]
    rc, _, err = cli("train", recipe, "--dataset", "digits", "--steps", "4", *sets,
                     "--out", run)  # fmt: skip
    assert rc == 0, err
    assert (run / "attention.png").stat().st_size > 1000
    page = (run / "report.html").read_text()
    assert "Where self-attention looks" in page and page.count("data:image/png") >= 3
    loaded = api.load_run(run, device="cpu")
    assert attention_blocks(loaded.G) and attention_blocks(loaded.game.D)
    inputs = loaded.game.fixed_inputs(3, 5)
    with torch.no_grad():
        expected = loaded.game.render(loaded.G, inputs).numpy()
    # ONNX (torch.export, ~20 s) for one recipe: the two G differ only in their BN inputs
    formats = [("torchscript", "g.pt")] + ([("onnx", "g.onnx")] if recipe == "biggan" else [])
    for fmt, name in formats:
        rc, out, err = cli("export", run, "--format", fmt, "--input", "latent",
                           "--out", tmp_path / name, "--json")  # fmt: skip
        assert rc == 0, err
        assert json.loads(out)["max_abs_diff"] <= 1e-4
        got = load_exported(tmp_path / name, fmt)(inputs["z"].numpy(), inputs["y"].numpy())
        assert np.abs(np.asarray(got) - expected).max() <= 1e-4, fmt


def test_unlabelled_folder_trains_unconditional_sagan(cli, tmp_path):
    folder = tiny_folder(tmp_path / "imgs", n=32, size=8)
    run = tmp_path / "run"
    rc, _, err = cli("train", "sagan", "--dataset", f"folder:{folder}", "--steps", "2",
                     "--set", "g_width=8", "--set", "d_width=8", "--batch-size", "8",
                     "--set", "report=false", "--out", run)  # fmt: skip
    assert rc == 0, err
    game = api.load_run(run, device="cpu").game
    assert game.num_classes == 0
    assert not any(isinstance(m, torch.nn.Embedding) for m in game.D.modules())  # no projection
    rc, _, err = cli("sample", run, "--class", "1", "--out", tmp_path / "s.png")
    assert rc == 2 and "--class needs a conditional run" in err


# ------------------------------------------------------------------- two processes
STEPS = 2


def _config(recipe: str, folder: str):
    sets = {**SMALL, "dataset": f"folder:{folder}", "image_size": 8, "channels": 1}
    if recipe == "sagan":
        sets.pop("shared_dim")
    extra = {"steps": STEPS, "device": "cpu", "sample_every": 1000, "checkpoint_minutes": 0}
    return api.make_config(recipe, {**sets, **extra})


def _worker(rank: int, world: int, folder: str, tmp: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    os.environ["GANFORGE_OFFLINE"] = "1"
    torch.set_num_threads(1)
    faulthandler.dump_traceback_later(240, exit=True)
    for recipe in ("sagan", "biggan"):
        dist.init_process_group(
            "gloo", init_method=f"file://{tmp}/store-{recipe}", rank=rank, world_size=world
        )
        trainer = Trainer(_config(recipe, folder), f"{tmp}/{recipe}-dist", progress=False)
        trainer.run()
        state = {f"game.{k}": v for k, v in trainer.game.state_dict().items()}
        if trainer.ema:
            state.update({f"ema.{k}": v for k, v in trainer.ema.state_dict().items()})
        save_file({k: v.detach().clone().contiguous() for k, v in state.items()},
                  f"{tmp}/{recipe}-rank{rank}.safetensors")  # fmt: skip


def test_two_processes_train_both_recipes_with_identical_replicas(tmp_path):
    """Per-rank BatchNorm statistics (no SyncBatchNorm): replicas stay bit-identical because
    gradients are averaged and the running statistics are broadcast from rank 0."""
    folder = tiny_folder(tmp_path / "imgs", n=32, size=8)
    ctx = mp.start_processes(
        _worker, args=(2, str(folder), str(tmp_path)), nprocs=2, join=False, start_method="spawn"
    )
    while not ctx.join(timeout=5):
        pass
    for recipe in ("sagan", "biggan"):
        r0 = load_file(tmp_path / f"{recipe}-rank0.safetensors")
        r1 = load_file(tmp_path / f"{recipe}-rank1.safetensors")
        assert r0.keys() == r1.keys()
        for k in r0:
            assert torch.equal(r0[k], r1[k]), f"{recipe}: {k} differs across ranks"
        info = read_json(tmp_path / f"{recipe}-dist" / "run.json")
        assert info["world_size"] == 2 and info["steps"] == STEPS
        assert info["status"] == "finished" and info["replicas_identical"] is True


@pytest.mark.parametrize(
    "recipe, expected",
    [
        # Zhang et al. 2019: TTUR D 4e-4 / G 1e-4, Adam (0, 0.9), one D step, hinge, SN in G and D
        ("sagan", dict(lr_d=4e-4, lr_g=1e-4, beta1=0.0, beta2=0.9, d_steps=1, loss="hinge")),
        # Brock et al. 2019, appendix C: D 2e-4 / G 5e-5, Adam (0, 0.999), 2 D steps, EMA,
        # orthogonal regularisation 1e-4, z 120 split hierarchically, shared embedding 128
        (
            "biggan",
            dict(
                lr_d=2e-4,
                lr_g=5e-5,
                beta1=0.0,
                beta2=0.999,
                d_steps=2,
                ema=0.9999,
                ortho_weight=1e-4,
                z_dim=120,
                shared_dim=128,
                loss="hinge",
            ),
        ),  # fmt: skip
    ],
)
def test_recipe_hyper_parameters_follow_the_paper(recipe, expected):
    cfg = api.make_config(recipe)
    assert {k: getattr(cfg, k) for k in expected} == expected
    assert cfg.spectral_norm and cfg.conditioning == "cbn" and cfg.attention_fraction == 0.25


def test_ema_standing_statistics_see_the_labels_of_the_prior():
    """The EMA G's BatchNorm statistics are re-estimated from prior draws: G's input vector
    carries z and the one-hot label, so every conditional BN layer sees uniform classes."""
    from ganforge.training.ema import EMA, batch_norms

    game = _game("biggan")
    draws = game.prior_inputs(200, torch.Generator().manual_seed(0))
    onehot = draws[:, game.cfg.z_dim :]
    assert onehot.shape == (200, 10) and torch.equal(onehot.sum(1), torch.ones(200))
    assert (onehot.sum(0) > 5).all()  # every class drawn
    ema = EMA(game.G, 0.999)
    cbn = [m for m in batch_norms(ema.module) if not m.affine]  # the conditional layers' BN
    assert len(cbn) == 2 * game.G.n_blocks
    ema.update()
    ema.standing_statistics(game.prior_inputs, seed=1, batches=3, batch_size=16)
    assert all(int(m.num_batches_tracked) == 3 for m in batch_norms(ema.module))
    before = [m.running_mean.clone() for m in cbn]
    one_class = lambda n, g: torch.cat(  # noqa: E731 - the same z, every label 0
        [torch.randn(n, game.cfg.z_dim, generator=g), torch.eye(10)[[0] * n]], 1
    )
    ema.updates += 1  # statistics are re-estimated only for new weights
    ema.standing_statistics(one_class, seed=1, batches=3, batch_size=16)
    assert any(not torch.equal(a, m.running_mean) for a, m in zip(before, cbn, strict=True))
