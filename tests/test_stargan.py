"""StarGAN (Choi et al. 2018): networks, the objective's terms, the domain tasks, the recipe end
to end (train, translate --to, --eval, report, exact resume) and its one-line errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from ganforge.data import load_dataset
from ganforge.errors import ConfigError, DataError
from ganforge.games.stargan import StarGANGame, domain_loss
from ganforge.metrics.stargan_eval import evaluate_stargan
from ganforge.models.stargan import StarDiscriminator, StarGenerator, tile_domain, trunk_layers
from ganforge.penalties import gradient_penalty
from ganforge.recipes import get_recipe
from ganforge.training import checkpoint as ckpt
from robust_util import write_png

SMALL = ["--set", "g_width=4", "--set", "d_width=4", "--set", "stargan_blocks=1"]
SMALL += ["--batch-size", "4", "--image-size", "16", "--set", "d_steps=2"]


def _game(size: int = 16, k: int = 3, **extra) -> StarGANGame:
    cfg = get_recipe("stargan").config(
        g_width=4, d_width=4, stargan_blocks=1, channels_last=False, **extra
    )
    torch.manual_seed(0)
    return StarGANGame(cfg, (1, size, size), k)


def _batch(n: int = 4, size: int = 16, k: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (n, 1, size, size), dtype=torch.uint8, generator=gen)
    return images, torch.arange(n) % k


# -- networks --------------------------------------------------------------------------------
def test_domain_is_tiled_as_constant_planes_beside_the_image():
    x = torch.zeros(2, 1, 4, 4)
    out = tile_domain(x, torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))
    assert out.shape == (2, 4, 4, 4)
    assert out[0, 2].eq(1).all() and out[0, 1].eq(0).all() and out[1, 1].eq(1).all()


def test_changing_the_target_domain_changes_the_output():
    torch.manual_seed(0)
    g = StarGenerator(1, 4, width=4, blocks=1)
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    outs = [g(x, torch.eye(4)[[k, k]]) for k in range(4)]
    assert outs[0].shape == x.shape
    for a in range(4):
        for b in range(a + 1, 4):
            assert (outs[a] - outs[b]).abs().max() > 1e-4, (a, b)


@pytest.mark.parametrize(
    ("size", "layers", "side"), [(16, 2, 4), (28, 3, 3), (32, 3, 4), (64, 4, 4)]
)
def test_discriminator_heads_fit_28_to_64_px(size, layers, side):
    assert trunk_layers(size) == layers
    d = StarDiscriminator(1, size, 3, width=4)
    src, cls = d(torch.zeros(2, 1, size, size))
    assert src.shape == (2, 1, side, side) and cls.shape == (2, 3)


# -- the objective ---------------------------------------------------------------------------
def test_classification_loss_real_uses_own_domain_fakes_the_target(monkeypatch):
    game = _game()
    images, org = _batch()
    trg = (org + 1) % 3
    monkeypatch.setattr(game, "draw_targets", lambda n, device: trg)
    d = game.d_loss((images, org), 0)
    x, org_kept, trg_kept, fake = d.fakes
    assert torch.equal(org_kept, org) and torch.equal(trg_kept, trg)
    with torch.no_grad():
        cls_real = game.D(x)[1]
    torch.testing.assert_close(d.logs["d_cls"], domain_loss(cls_real, org))
    assert abs(float(d.logs["d_cls"] - domain_loss(cls_real, trg))) > 1e-6
    _, logs = game.g_loss((images, org), 0, d.fakes)
    with torch.no_grad():
        cls_fake = game.D(fake)[1]
    torch.testing.assert_close(logs["g_cls"], domain_loss(cls_fake, trg))
    assert abs(float(logs["g_cls"] - domain_loss(cls_fake, org))) > 1e-6


class _Recorder(nn.Module):
    """Wraps G and records the target domain of every call."""

    def __init__(self, g: nn.Module):
        super().__init__()
        self.g, self.calls = g, []

    def forward(self, x, onehot):
        self.calls.append(onehot.argmax(1).clone())
        return self.g(x, onehot)


def test_reconstruction_translates_back_to_the_original_domain(monkeypatch):
    game = _game()
    images, org = _batch()
    trg = (org + 2) % 3
    monkeypatch.setattr(game, "draw_targets", lambda n, device: trg)
    game.G = _Recorder(game.G)
    _, logs = game.g_loss((images, org), 0)
    assert [c.tolist() for c in game.G.calls] == [trg.tolist(), org.tolist()]
    x = game._unit(images)
    with torch.no_grad():
        fake = game.G.g(x, game.onehot(trg))
        expected = (game.G.g(fake, game.onehot(org)) - x).abs().mean()
    torch.testing.assert_close(logs["rec"], expected)


def test_gradient_penalty_acts_on_the_adversarial_head_only():
    game = _game()
    images, org = _batch()

    def d_logs():
        torch.manual_seed(5)
        return game.d_loss((images, org), 0, keep_fakes=False).logs

    before = d_logs()
    with torch.no_grad():
        game.D.cls.weight.mul_(3.0)  # the classification head: gp unchanged, d_cls not
    after = d_logs()
    assert torch.equal(before["gp"], after["gp"]) and not torch.equal(
        before["d_cls"], after["d_cls"]
    )
    with torch.no_grad():
        game.D.src.weight.mul_(3.0)  # the adversarial head: gp changes
    assert not torch.equal(after["gp"], d_logs()["gp"])
    # and it is WGAN-GP of the per-image critic (mean of D_src's patch logits)
    real, fake = torch.rand(4, 1, 16, 16), torch.rand(4, 1, 16, 16)
    torch.manual_seed(2)
    gp = gradient_penalty(game.critic, real, fake)
    torch.manual_seed(2)
    alpha = torch.rand(4, 1, 1, 1)
    x_hat = torch.lerp(fake, real, alpha).requires_grad_(True)
    (grad,) = torch.autograd.grad(game.D(x_hat)[0].mean((1, 2, 3)).sum(), x_hat)
    torch.testing.assert_close(gp, ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean())
    assert "gp" not in _game(stargan_gp_weight=0.0).d_loss((images, org), 0).logs


def test_targets_cover_every_domain_source_included_and_lr_decays_over_last_half():
    game = _game(k=4)
    torch.manual_seed(0)
    drawn = game.draw_targets(400, torch.device("cpu"))
    assert set(drawn.tolist()) == {0, 1, 2, 3}
    assert [game.lr_scale(p) for p in (None, 0.25, 0.5, 0.75, 1.0)] == [1.0, 1.0, 1.0, 0.5, 0.0]


# -- config and data -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"arch": "dcgan"}, "game=stargan and arch=stargan go together"),
        ({"d_norm": "batch"}, "d_norm=batch is not allowed with stargan_gp_weight"),
        ({"conditioning": "acgan"}, "conditioning=acgan has no effect with game=stargan"),
        ({"z_dim": 8}, "'z_dim' has no effect here"),
        ({"eval_every": 5}, "'eval_every' has no effect here"),
        ({"compile": True}, "compile=true does not work with game=stargan"),
    ],
)
def test_config_refuses_what_cannot_act(overrides, words):
    with pytest.raises(ConfigError, match=words):
        get_recipe("stargan").config(**overrides)


def test_stargan_keys_are_refused_in_other_games():
    with pytest.raises(ConfigError, match="'stargan_rec_weight' has no effect here"):
        get_recipe("cyclegan").config(stargan_rec_weight=3.0)
    assert get_recipe("stargan").config(lr_decay_start=0.8).lr_decay_start == 0.8


def test_domain_tasks_are_fashion_mnist_classes_renumbered():
    tops = load_dataset("fmnist-tops", "test")
    fashion = load_dataset("fashion-mnist", "test")
    assert tops.class_names == ("t-shirt", "pullover", "coat", "shirt")
    assert tops.labels.bincount().tolist() == [1000] * 4 and len(tops) == 4000
    first_coat = tops.images[tops.labels == 2][0]
    assert torch.equal(first_coat, fashion.images[fashion.labels == 4][0])
    shoes = load_dataset("fmnist-shoes", "train")
    assert shoes.num_classes == 3 and len(shoes) == 18000
    assert shoes.class_names == ("sandal", "sneaker", "ankle-boot")


def test_domain_names_of_labelled_data_are_kept_with_the_run():
    """A labelled data set (as folder:PATH with a sub-folder per domain gives) names the
    domains; the names travel in the checkpoint's game state to a loaded run."""
    from ganforge.data.images import ImageData

    images, labels = _batch(8, k=2)
    data = ImageData("folder:pets", images, labels % 2, 2, ("cat", "dog"))
    game = _game(k=2)
    game.make_batches(data, 4, 0, "cpu")
    assert game.domains == ("cat", "dog")
    assert game.fixed_inputs(8, 0)["y"].tolist()[:4] == [0, 1, 0, 1]
    loaded = _game(k=2)
    assert loaded.domains == ("0", "1")
    loaded.load_extra_state(game.extra_state())
    assert loaded.domain_index("DOG") == 1 and loaded.domain_index("0") == 0
    unlabelled = ImageData("folder:pets", images)
    with pytest.raises(DataError, match="labelled with its domains"):
        _game(k=2).make_batches(unlabelled, 4, 0, "cpu")


def test_data_without_domains_is_refused(cli, tmp_path):
    for i in range(8):
        Image.fromarray(np.full((16, 16), 10 * i, np.uint8)).save(tmp_path / f"{i}.png")
    rc, _, err = cli(
        "train", "stargan", "--dataset", f"folder:{tmp_path}", "--steps", "1", *SMALL,
        "--out", tmp_path / "r",
    )  # fmt: skip
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "labelled with two or more domains" in err or "labelled with its domains" in err


# -- end to end ------------------------------------------------------------------------------
def test_recipe_trains_translates_scores_and_writes_its_report(cli, tmp_path):
    from ganforge import api

    run = tmp_path / "s"
    rc, _, err = cli("train", "stargan", "--steps", "3", *SMALL, "--out", run)
    assert rc == 0, err
    line = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"d_adv", "d_cls", "gp", "g_adv", "g_cls", "rec"} <= set(line)
    assert Image.open(run / "samples.png").size == (5 * 18 + 2, 8 * 18 + 2)  # input + 4 domains
    assert "<html" in (run / "report.html").read_text().lower()
    write_png(tmp_path / "in" / "a.png", np.full((16, 16), 90))
    write_png(tmp_path / "in" / "sub" / "b.png", np.full((16, 16), 90))
    rc, out, err = cli(
        "translate", run, "--input", tmp_path / "in", "--out", tmp_path / "o", "--to", "coat"
    )
    assert rc == 0 and Image.open(tmp_path / "o" / "sub" / "b.png").size == (16, 16), err
    rc, _, err = cli(
        "translate", run, "--input", tmp_path / "in", "--out", tmp_path / "g", "--to", "all"
    )
    assert rc == 0 and Image.open(tmp_path / "g" / "a.png").size == (5 * 16, 16), err
    rc, _, err = cli(
        "translate", run, "--input", tmp_path / "in", "--out", tmp_path / "i", "--to", "1"
    )
    assert rc == 0, err
    rc, out, err = cli("translate", run, "--eval", "--n", "4")
    assert rc == 0, err
    scores = json.loads(out.splitlines()[-1])
    assert scores["test_images"] == [4, 4, 4, 4] and 0 < scores["reconstruction_l1"] < 1
    assert "source \\ target" in out and "real (ceiling)" in out
    assert set(scores["target_accuracy"]["coat"]) == {"t-shirt", "pullover", "coat", "shirt"}

    def always_coat(x):  # Fashion-MNIST class 4 (coat) for every image
        return torch.nn.functional.one_hot(torch.full((x.shape[0],), 4), 10).float()

    stub = evaluate_stargan(api.load_run(run), n=3, classifier=always_coat)
    assert all(stub["target_accuracy"][s] == {"t-shirt": 0.0, "pullover": 0.0, "coat": 1.0, "shirt": 0.0} for s in stub["domains"])  # fmt: skip
    assert stub["real_accuracy"] == {"t-shirt": 0.0, "pullover": 0.0, "coat": 1.0, "shirt": 0.0}
    assert stub["mean_target_accuracy"] == 0.25


def test_bad_translate_inputs_are_one_line_errors(cli, tmp_path):
    run = tmp_path / "s"
    rc, _, err = cli(
        "train", "stargan", "--steps", "1", *SMALL, "--set", "report=false", "--out", run
    )
    assert rc == 0, err
    write_png(tmp_path / "in" / "a.png", np.full((16, 16), 90))
    write_png(tmp_path / "big" / "a.png", np.full((28, 28), 90))
    cases = [
        (["--input", tmp_path / "in", "--to", "hat"], "unknown --to 'hat': this run's domains are 0=t-shirt, 1=pullover, 2=coat, 3=shirt, or all"),
        (["--input", tmp_path / "big", "--to", "coat"], "a.png is 28x28: this run translates 16x16 images"),
        (["--input", tmp_path / "in", "--direction", "BtoA"], "--direction is for pix2pix/cyclegan runs"),
        (["--input", tmp_path / "in"], "use --to NAME|INDEX|all"),
    ]  # fmt: skip
    for args, words in cases:
        rc, _, err = cli("translate", run, *args, "--out", tmp_path / "o")
        assert rc == 2 and words in err and len(err.strip().splitlines()) == 1, err
    rc, _, err = cli("translate", run, "--to", "coat", "--eval")
    assert rc == 2 and "--to and --direction go with --input" in err
    export = ("export", run, "--format", "torchscript", "--out", tmp_path / "g.pt")
    for args in (("sample", run), export):
        rc, _, err = cli(*args)
        assert rc == 2 and "ganforge translate" in err, (args, err)
    assert not (tmp_path / "g.pt").exists()


def test_to_is_refused_for_two_domain_translation(tmp_path):
    from types import SimpleNamespace

    from ganforge.errors import GanforgeError
    from ganforge.translate import translate_files

    for game in ("pix2pix", "cyclegan"):
        run = SimpleNamespace(
            cfg=SimpleNamespace(game=game), game=SimpleNamespace(translates=lambda: True)
        )
        with pytest.raises(GanforgeError, match=f"--to is for stargan runs; a {game} run takes"):
            translate_files(run, tmp_path, tmp_path / "o", to="coat")
    assert not (tmp_path / "o").exists()


def test_cut_back_resume_is_byte_identical(cli, tmp_path):
    run = tmp_path / "run"
    extra = [
        "--set",
        "checkpoint_every=2",
        "--set",
        "checkpoint_minutes=0",
        "--set",
        "report=false",
    ]
    rc, _, err = cli(
        "train", "stargan", "--steps", "4", "--seed", "3", *SMALL, *extra, "--out", run
    )
    assert rc == 0, err
    cut = tmp_path / "cut"
    shutil.copytree(run, cut)
    ckpt.step_path(cut / "checkpoints", 4).unlink()
    rc, _, err = cli("train", "--resume", cut)
    assert rc == 0, err
    a = ckpt.step_path(run / "checkpoints", 4).read_bytes()
    assert a == ckpt.step_path(cut / "checkpoints", 4).read_bytes()
