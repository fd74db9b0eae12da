"""DiffAugment: D only ever sees augmented images; policies, shapes, ranges, gradients, refusals."""

from __future__ import annotations

import pytest
import torch

from ganforge import augment
from ganforge.config import Config
from ganforge.data.batches import to_unit_range
from ganforge.errors import ConfigError
from ganforge.games import adversarial as adversarial_module
from ganforge.games import build_game
from ganforge.recipes import get_recipe
from robust_util import TINY

SHAPE = (1, 28, 28)
POLICY = "color,translation,cutout"


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make(recipe: str = "wgan-gp", **extra):
    torch.manual_seed(0)
    cfg = get_recipe(recipe).config(
        g_width=8, d_width=8, channels_last=False, augment=POLICY, **extra
    )
    return build_game(cfg, SHAPE, 10)


def real_batch(n: int = 6):
    gen = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (n, *SHAPE), generator=gen, dtype=torch.uint8), None


class Spy:
    """Records every call of diff_augment (input, output, and the RNG state before it, to
    recompute it) and every input D's forward receives."""

    def __init__(self, monkeypatch, game):
        self.calls: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.d_inputs: list[torch.Tensor] = []
        real_augment = augment.diff_augment

        def recording(x, policy, generator=None):
            state = torch.get_rng_state()
            out = real_augment(x, policy, generator)
            after = torch.get_rng_state()
            torch.set_rng_state(state)  # the same draws again give the same images
            assert torch.equal(real_augment(x, policy, generator), out)
            torch.set_rng_state(after)
            self.calls.append((x.detach().clone(), out.detach().clone()))
            return out

        monkeypatch.setattr(adversarial_module, "diff_augment", recording)
        forward = game.D.forward

        def seen(x, y=None):
            self.d_inputs.append(x.detach().reshape(-1, *SHAPE).clone())  # packs unpacked
            return forward(x, y)

        game.D.forward = seen

    def assert_all_augmented(self) -> None:
        """Each D input is the output of consecutive augmentation calls (a joint forward
        concatenates the augmented real and fake batches)."""
        outs = [out for _, out in self.calls]
        for x in self.d_inputs:
            found = any(
                torch.equal(x, torch.cat(outs[i:j]))
                for i in range(len(outs))
                for j in range(i + 1, len(outs) + 1)
                if sum(len(o) for o in outs[i:j]) == len(x)
            )
            assert found, "D received an input that is not an augmented batch"


def test_d_sees_only_augmented_images_in_d_step_penalty_and_g_step(monkeypatch):
    game = make()  # wgan-gp: a gradient penalty differentiates D on interpolates
    spy = Spy(monkeypatch, game)
    real_u8, labels = real_batch()
    step = game.d_loss((real_u8, labels), 0)
    real = to_unit_range(real_u8)
    fake = step.fakes[0].detach()
    assert torch.equal(spy.calls[0][0], real) and torch.equal(spy.calls[1][0], fake)
    interpolate = spy.calls[2][0]  # the penalty's input: between real and fake, not either
    assert not torch.equal(interpolate, real) and not torch.equal(interpolate, fake)
    assert "penalty" in step.logs and len(spy.d_inputs) >= 2
    d_calls = len(spy.d_inputs)
    game.g_loss((real_u8, labels), 1, step.fakes)  # the reused fakes
    game.g_loss((real_u8, labels), 1)  # fresh fakes
    assert len(spy.d_inputs) == d_calls + 2
    assert torch.equal(spy.calls[-2][0], fake)
    spy.assert_all_augmented()
    # and augmented means changed: cutout zeroes a quarter of every image at least in part
    assert all(not torch.equal(x, out) for x, out in spy.calls)


@pytest.mark.parametrize(
    ("recipe", "extra"),
    [
        ("cgan-matching", {}),
        ("dcgan", {"unroll": 1}),
        ("pacgan", {"penalty": "r1", "d_norm": "none"}),
        ("dcgan", {"instance_noise": 0.1}),
    ],
)
def test_every_family_path_feeds_d_through_the_augmentation(monkeypatch, recipe, extra):
    game = make(recipe, **extra)
    spy = Spy(monkeypatch, game)
    gen = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 10, (6,), generator=gen)
    batch = (real_batch()[0], labels)
    step = game.d_loss(batch, 0)
    game.g_loss(batch, 1, step.fakes)
    if "instance_noise" not in extra:
        spy.assert_all_augmented()
        return
    # noise is added after T: D sees T(x) + N(0, 0.1^2), real and fake, D step and G step
    outs = [out for _, out in spy.calls]
    expected = [torch.cat(outs[:2]), outs[2]] if len(spy.d_inputs) == 2 else outs
    assert len(spy.d_inputs) == len(expected)
    for x, t in zip(spy.d_inputs, expected, strict=True):
        assert 0.08 < float((x - t).std()) < 0.12


def test_gradients_flow_through_the_augmentation_to_g():
    game = make()
    real_u8, labels = real_batch()
    step = game.d_loss((real_u8, labels), 0)
    loss, _ = game.g_loss((real_u8, labels), 1, step.fakes)
    loss.backward()
    grads = [p.grad for p in game.G.parameters()]
    assert all(g is not None for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    augment.diff_augment(x, POLICY).sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0


def test_policies_refuse_unknown_and_repeated_names_in_one_line():
    assert augment.parse_policy("") == ()
    assert augment.parse_policy("color, cutout") == ("color", "cutout")
    with pytest.raises(ConfigError, match="bad policy 'colour' in 'augment'") as err:
        augment.parse_policy("color,colour")
    assert "\n" not in str(err.value) and "color, translation, cutout" in str(err.value)
    with pytest.raises(ConfigError, match="named twice"):
        augment.parse_policy("cutout,cutout")
    with pytest.raises(ConfigError, match="bad policy"):
        Config().with_overrides({"augment": "flip"})


def test_translation_shifts_each_image_by_at_most_an_eighth_and_fills_zeros():
    x = torch.arange(1, 2 * 3 * 16 * 16 + 1, dtype=torch.float32).reshape(2, 3, 16, 16)
    for seed in range(5):
        out = augment.translation(x, torch.Generator().manual_seed(seed))
        assert out.shape == x.shape
        for b in range(2):
            shifts = [
                (dy, dx)
                for dy in range(-2, 3)
                for dx in range(-2, 3)
                if torch.equal(out[b], _shifted(x[b], dy, dx))
            ]
            assert len(shifts) == 1  # s = round(16 / 8) = 2


def _shifted(img: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    out = torch.zeros_like(img)
    h, w = img.shape[1:]
    for i in range(h):
        for j in range(w):
            if 0 <= i + dy < h and 0 <= j + dx < w:
                out[:, i, j] = img[:, i + dy, j + dx]
    return out


def test_cutout_zeroes_one_clipped_half_side_square_per_image():
    x = torch.ones(64, 3, 16, 16)
    out = augment.cutout(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and set(out.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(out[:, 0], out[:, 1])  # the same hole in every channel
    for b in range(64):
        rows = (out[b, 0] == 0).any(1).nonzero().flatten()
        cols = (out[b, 0] == 0).any(0).nonzero().flatten()
        assert 0 < len(rows) <= 8 and 0 < len(cols) <= 8  # side round(16 / 2) = 8
        hole = out[b, 0, rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        assert float(hole.abs().sum()) == 0  # a filled rectangle
        assert int((out[b, 0] == 0).sum()) == len(rows) * len(cols)
    full = sum(int((out[b, 0] == 0).sum()) == 64 for b in range(64))
    assert full > 10  # most centres keep the whole square inside


def test_color_changes_brightness_within_half_a_unit_on_gray_images():
    x = torch.full((32, 1, 8, 8), 0.25)
    out = augment.color(x, torch.Generator().manual_seed(0))
    shift = (out - x).flatten(1)
    # gray and constant: saturation and contrast keep it, brightness adds u - 1/2
    assert torch.allclose(shift, shift[:, :1].expand_as(shift), atol=1e-6)
    assert shift.abs().max() <= 0.5 and shift.std() > 0.1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "pix2pix", "--set", "augment=color"], "'augment' has no effect here"),
        (
            ["toy", "gan", "--dataset", "ring8", "--set", "augment=color"],
            "'augment' has no effect here",
        ),
        (["train", "dcgan", "--set", "augment=colour"], "bad policy 'colour' in 'augment'"),
        (
            ["train", "wgan-slope", "--set", "augment=translation"],
            "penalty=slope does not work with augment",
        ),
        (
            [
                "train",
                "dcgan",
                "--set",
                "augment=color",
                "--set",
                "rejection=drs",
                "--set",
                "d_norm=none",
            ],
            "rejection=drs does not work with augment=color",
        ),  # fmt: skip
    ],
)
def test_cli_refuses_augment_where_it_cannot_act(cli, argv, message):
    tiny = TINY if argv[0] == "train" else []
    rc, out, err = cli(*argv, *tiny, "--steps", "1")
    assert rc == 2
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_augment_refuses_one_dimensional_samples():
    cfg = get_recipe("gan").config(augment="color")
    with pytest.raises(ConfigError, match="augment works on images"):
        build_game(cfg, (2,), 0)


def test_a_run_with_augment_and_path_length_resumes_byte_identical(cli, tmp_path):
    """Augmentation draws and the path-length target a are part of what a resume restores."""
    import shutil

    from ganforge.training import checkpoint as ckpt

    args = ["train", "dcgan", "--steps", "8", "--seed", "2", *TINY,
            "--set", "augment=color,translation,cutout", "--set", "g_penalty=path_length",
            "--set", "g_penalty_every=2", "--set", "checkpoint_every=4",
            "--set", "checkpoint_minutes=0", "--set", "sample_every=1000"]  # fmt: skip
    run, cut = tmp_path / "run", tmp_path / "cut"
    rc, _, err = cli(*args, "--out", run)
    assert rc == 0, err
    shutil.copytree(run, cut)
    ckpt.step_path(cut / "checkpoints", 8).unlink()
    rc, _, err = cli("train", "--resume", cut)
    assert rc == 0, err
    a = ckpt.step_path(run / "checkpoints", 8).read_bytes()
    assert a == ckpt.step_path(cut / "checkpoints", 8).read_bytes()
