"""Latent tools: PPL (closed forms on a linear G, percentile filter, end vs full paths), the
perceptual distances, the style-mixing grid, walks in W, projection and latent files, on a
tiny test-only style-based game (tests/latent_toy.py) and on a plain GAN run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge import api, api_latent
from ganforge.games import GAMES, AdversarialGame
from ganforge.invert import learning_rate, noise_regularizer
from ganforge.metrics import perceptual, ppl
from ganforge.recipes import RECIPES
from ganforge.training.loaded_run import load_run
from ganforge.views import interpolate as interp
from ganforge.views.mix import mix_ws, mixing_grid
from latent_toy import LAYERS, LinearGame, NoisyLinearGame, ToyStyleGame
from robust_util import tiny_folder

TINY = {"g_width": 8, "d_width": 8, "batch_size": 8, "report": False, "sample_every": 1000}


STYLE_SEED = 17  # the toy style run's seed: how the patched registry tells the two apart


def _game(cfg, *args):
    """The adversarial game, or the toy style game for the run trained with STYLE_SEED."""
    return (ToyStyleGame if cfg.seed == STYLE_SEED else AdversarialGame)(cfg, *args)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny toy style-based run and a tiny plain GAN run, both on 8x8 digits, 2 steps; the
    toy game stays registered (for the style run only) while this module's tests run."""
    root = tmp_path_factory.mktemp("latent")
    before = GAMES["adversarial"]
    GAMES["adversarial"] = _game
    try:
        api.train("gan", root / "plain", dataset="digits", steps=2, **TINY)
        api.train("gan", root / "style", dataset="digits", steps=2, seed=STYLE_SEED, **TINY)
        yield root / "style", root / "plain"
    finally:
        GAMES["adversarial"] = before


@pytest.fixture
def style(runs):
    return runs[0]


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganforge: error: "), err
    return lines[0]


# ------------------------------------------------------------------------------------ PPL
def _pairs(game, n, sampling, seed=0):
    gen = torch.Generator().manual_seed(seed)
    z0, z1 = game.draw_inputs(n, "cpu", gen)["z"], game.draw_inputs(n, "cpu", gen)["z"]
    return z0, z1, ppl.draw_t(n, sampling, gen)


def test_ppl_lerp_in_w_of_a_linear_generator_is_its_closed_form():
    """G(w) = A w, w = M z, squared pixel distance (mean over P pixels): every pair's path
    length is |A M (z1 - z0)|^2 / P, whatever t."""
    game, n = LinearGame(), 200
    d = ppl.path_lengths(game, game.G, perceptual.pixel_distance, n, "w", "full", batch_size=n)
    z0, z1, _ = _pairs(game, n, "full")
    closed = ((z1 - z0) @ game.M.T @ game.A.T).pow(2).sum(1) / game.A.shape[0]
    torch.testing.assert_close(d, closed, rtol=1e-6, atol=0)


def test_ppl_holds_a_generators_random_noise_fixed_between_the_ends_of_a_pair():
    """A synthesis drawing fresh noise at each call sees the same noise at both ends: the
    path lengths stay the closed form instead of noise / eps^2 (~1e7)."""
    game, n = NoisyLinearGame(), 50
    d = ppl.path_lengths(game, game.G, perceptual.pixel_distance, n, "w", "full", batch_size=n)
    z0, z1, _ = _pairs(game, n, "full")
    closed = ((z1 - z0) @ game.M.T @ game.A.T).pow(2).sum(1) / game.A.shape[0]
    torch.testing.assert_close(d, closed, rtol=1e-6, atol=0)


@pytest.mark.parametrize("sampling", ["full", "end"])
def test_ppl_slerp_in_z_of_a_linear_generator_is_its_closed_form(sampling):
    """slerp p(t) = sin((1-t)W)/sin W z0 + sin(tW)/sin W z1 with cos W = <z0,z1>/|z0||z1|;
    the path length is |A p'(t)|^2 / P, p'(t) = W/sin W (cos(tW) z1 - cos((1-t)W) z0)."""
    game, n = LinearGame(), 300
    d = ppl.path_lengths(game, game.G, perceptual.pixel_distance, n, "z", sampling, batch_size=n)
    z0, z1, t = _pairs(game, n, sampling)
    cos = (z0 * z1).sum(1) / (z0.norm(dim=1) * z1.norm(dim=1))
    om = torch.acos(cos)[:, None]
    t = t[:, None]
    dp = om / torch.sin(om) * (torch.cos(t * om) * z1 - torch.cos((1 - t) * om) * z0)
    closed = (dp @ game.A.T).pow(2).sum(1) / game.A.shape[0]
    torch.testing.assert_close(d, closed, rtol=1e-3, atol=0)  # finite difference: O(eps)
    if sampling == "end":  # endpoints only: the lerp-like speeds at t = 0 and t = 1
        assert set(t.flatten().tolist()) == {0.0, 1.0}
    else:
        assert float(t.min()) > 0.0 and float(t.max()) < 1.0 and t.std() > 0.2


def test_end_and_full_paths_differ_on_a_curved_path():
    """On a slerp the speed depends on t, so end and full paths average differently."""
    game = LinearGame()
    args = (game, game.G, perceptual.pixel_distance, 400, "z")
    full = ppl.filtered_mean(ppl.path_lengths(*args, "full", batch_size=400))
    end = ppl.filtered_mean(ppl.path_lengths(*args, "end", batch_size=400))
    assert abs(full - end) / full > 0.01


def test_percentile_filter_keeps_values_between_1st_and_99th():
    values = torch.arange(1000, dtype=torch.float64)
    assert ppl.filtered_mean(values) == pytest.approx((9 + 990) / 2)  # kept 9..990
    values[0], values[-1] = -1e9, 1e9  # outliers change nothing
    assert ppl.filtered_mean(values) == pytest.approx(499.5)
    assert float(values.mean()) != pytest.approx(499.5)


def test_ppl_refuses_w_on_a_run_without_styles(runs, cli):
    rc, _, err = cli("eval", runs[1], "--metrics", "ppl", "--ppl-space", "w")
    assert rc == 2 and "PPL in W is not possible" in one_line(err)
    rc, _, err = cli("eval", runs[1], "--metrics", "fid", "--ppl-samples", "10")
    assert rc == 2 and "only with --metrics ppl" in one_line(err)
    rc, _, err = cli("eval", runs[1], "--metrics", "ppl", "--ppl-samples", "0")
    assert rc == 2 and "bad PPL sample count 0" in one_line(err)
    np.save("x.npy", np.zeros((4, 1, 8, 8), np.float32))
    rc, _, err = cli("eval", "x.npy", "--metrics", "ppl")
    assert rc == 2 and "evaluate a run, not images" in one_line(err)


def test_eval_ppl_in_w_and_z_records_the_distance(style, cli):
    rc, out, err = cli("eval", style, "--metrics", "ppl", "--ppl-samples", "40", "--json")
    assert rc == 0, err
    assert "space w" in out and "distance extractor fashion-mnist" in out
    w = json.loads(out.strip().splitlines()[-1])["ppl"]
    rc, out, err = cli("eval", style, "--metrics", "ppl", "--ppl-samples", "40", "--ppl-space",
                       "z", "--ppl-distance", "pixel", "--json")  # fmt: skip
    assert rc == 0, err
    assert "space z" in out and "distance pixel" in out
    assert w > 0 and json.loads(out.strip().splitlines()[-1])["ppl"] > 0


# ---------------------------------------------------------------------- perceptual distance
def test_extractor_distance_is_zero_on_equal_images_and_takes_rgb_and_any_size():
    d = perceptual.load_distance("fashion-mnist")
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    y = x.clone()
    y[:, :, 8:16, 8:16] = -1
    out = d(x, y)
    assert out.shape == (3,) and (out > 0).all()
    assert torch.equal(d(x, x), torch.zeros(3))
    with pytest.raises(Exception, match="at least 8x8"):
        d(x[..., :4, :4], x[..., :4, :4])


def test_lpips_files_and_torchscript_distances_load(tmp_path):
    convs, cin = {}, 3  # random weights in the two files' formats
    idx = 0
    for v in perceptual.VGG16_CONVS:
        if v == "M":
            idx += 1
            continue
        convs[f"features.{idx}.weight"] = torch.randn(int(v), cin, 3, 3) * 0.05
        convs[f"features.{idx}.bias"] = torch.zeros(int(v))
        cin, idx = int(v), idx + 2
    lin = {f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1)
           for k, c in enumerate((64, 128, 256, 512, 512))}  # fmt: skip
    torch.save(convs, tmp_path / "vgg16.pth")
    torch.save(lin, tmp_path / "vgg.pth")
    d = perceptual.load_distance(f"lpips:{tmp_path / 'vgg16.pth'},{tmp_path / 'vgg.pth'}")
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    assert d.name == "lpips-vgg" and (d(x, -x) > 0).all() and torch.equal(d(x, x), torch.zeros(2))
    torch.save({"lin0.model.1.weight": torch.ones(1)}, tmp_path / "bad.pth")
    with pytest.raises(Exception, match="do not fit LPIPS-VGG"):
        perceptual.load_distance(f"lpips:{tmp_path / 'vgg16.pth'},{tmp_path / 'bad.pth'}")

    class L1(torch.nn.Module):
        def forward(self, a, b):
            return (a - b).abs().flatten(1).mean(1)

    torch.jit.script(L1()).save(str(tmp_path / "l1.pt"))
    d = perceptual.load_distance(f"torchscript:{tmp_path / 'l1.pt'}")
    assert torch.allclose(d(x, -x), 2 * x.abs().flatten(1).mean(1))


# ----------------------------------------------------------------------------- style mixing
def test_mixing_grid_blocks_take_the_right_ws_entries(style):
    run = load_run(style, device="cpu")
    game, G = run.game, run.G
    grid = mixing_grid(game, G, rows=2, cols=3, seed=5)
    assert grid.images.shape == ((1 + 3 * 2) * 4, 1, 8, 8)
    gen = torch.Generator().manual_seed(5)
    ws_a = game.to_w(G, game.draw_inputs(3, "cpu", gen))
    ws_b = game.to_w(G, game.draw_inputs(2, "cpu", gen))
    for r, block in enumerate(("coarse", "middle", "fine")):
        for i in range(2):
            ws = grid.ws[(block, i)]
            taken = LAYERS[block]
            assert torch.equal(ws[:, taken], ws_b[i : i + 1, taken].expand(3, -1, -1))
            rest = [k for k in range(6) if k not in range(taken.start, taken.stop)]
            assert torch.equal(ws[:, rest], ws_a[:, rest])
            row = (1 + r * 2 + i) * 4
            torch.testing.assert_close(grid.images[row + 1 : row + 4], game.render_w(G, ws))
            assert not torch.equal(grid.images[row + 1 : row + 4], grid.images[1:4])
            torch.testing.assert_close(grid.images[row], game.render_w(G, ws_b)[i])
    torch.testing.assert_close(grid.images[1:4], game.render(G, {"z": game.draw_inputs(
        3, "cpu", torch.Generator().manual_seed(5))["z"]}))  # fmt: skip
    assert torch.equal(mix_ws(ws_a, ws_b[:1], slice(0, 0)), ws_a)


def test_mix_cli_writes_the_grid_and_refuses_runs_without_styles(style, runs, cli, tmp_path):
    rc, out, err = cli("mix", style, "--rows", 2, "--cols", 3, "--out", tmp_path / "m.png")
    assert rc == 0, err
    with Image.open(tmp_path / "m.png") as im:  # 8 px cells upscaled 6x, 2 px padding
        assert im.size == (6 * (4 * 10 + 2), 6 * (7 * 10 + 2))
    rc, _, err = cli("mix", runs[1])
    assert rc == 2 and "style-based recipe" in one_line(err)


# ------------------------------------------------------------------------------ walks in W
def test_walk_in_w_ends_at_the_two_samples(style, cli):
    run = load_run(style, device="cpu")
    game, G = run.game, run.G
    walk = interp.w_walk(game, G, rows=3, steps=5, seed=2)
    images = interp.render_walk(G, walk, "cpu", game).view(3, 5, 1, 8, 8)
    gen = torch.Generator().manual_seed(2)
    a, b = game.draw_inputs(3, "cpu", gen), game.draw_inputs(3, "cpu", gen)
    torch.testing.assert_close(images[:, 0], game.render(G, a))
    torch.testing.assert_close(images[:, -1], game.render(G, b))
    mid = game.render_w(G, 0.5 * (game.to_w(G, a) + game.to_w(G, b)))
    torch.testing.assert_close(images[:, 2], mid)
    rc, out, err = cli("interpolate", style, "--space", "w", "--rows", 2, "--steps", 3)
    assert rc == 0, err
    assert (style / "interpolate-w.png").is_file() and (style / "interpolate-w.gif").is_file()


def test_z_walk_of_a_game_that_describes_no_classes():
    """A game whose describe() has no num_classes (progan's) walks in z as any other."""
    walk = interp.walk_inputs(LinearGame(), rows=2, steps=3, mode="lerp")
    assert walk.inputs.shape == (6, 5)


def test_walk_in_w_refused_without_styles_or_with_slerp(style, runs, cli):
    rc, _, err = cli("interpolate", runs[1], "--space", "w")
    assert rc == 2 and "style-based run" in one_line(err)
    rc, _, err = cli("interpolate", style, "--space", "w", "--mode", "slerp")
    assert rc == 2 and "lerp of styles" in one_line(err)


# ------------------------------------------------------------------------------ projection
def _target_png(game, G, path: Path, seed: int = 11) -> torch.Tensor:
    """A target made by G from a known w, saved as an 8-bit PNG; returns it in [-1, 1]."""
    inputs = game.draw_inputs(1, "cpu", torch.Generator().manual_seed(seed))
    img = game.render(G, inputs)[0, 0]
    arr = ((img.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    Image.fromarray(arr, "L").save(path)
    return torch.from_numpy(arr).float().div(127.5).sub(1)


def test_project_beats_the_mean_image_and_its_latent_round_trips(style, cli, tmp_path):
    run = load_run(style, device="cpu")
    target = _target_png(run.game, run.G, tmp_path / "t.png")
    mean = torch.cat([run.sample(500, 1)]).mean(0)[0]
    mean_err = float((mean - target).pow(2).mean())
    rc, out, err = cli("project", style, tmp_path / "t.png", "--steps", 150, "--out",
                       tmp_path / "p", "--json")  # fmt: skip
    assert rc == 0, err
    facts = json.loads(out)
    assert facts["space"] == "w" and facts["noise_maps"] == 1
    assert facts["pixel_mse"] < 0.5 * mean_err, (facts["pixel_mse"], mean_err)
    with Image.open(tmp_path / "p" / "projection.png") as im:
        assert im.size == (6 * 22, 6 * 12)  # target | projection, 8 px upscaled 6x
    # the latent file renders the projection again through `sample --latent`
    rc, _, err = cli("sample", style, "--latent", tmp_path / "p" / "latent.pt", "--out",
                     tmp_path / "s.npy")  # fmt: skip
    assert rc == 0, err
    again = torch.from_numpy(np.load(tmp_path / "s.npy"))
    assert again.shape == (1, 1, 8, 8)
    assert float((again[0, 0] - target).pow(2).mean()) == pytest.approx(
        facts["pixel_mse"], rel=1e-4
    )
    # and starts/ends a walk
    rc, _, err = cli("interpolate", style, "--space", "w", "--from", tmp_path / "p" / "latent.pt",
                     "--to", tmp_path / "p" / "latent.pt", "--steps", 3, "--out",
                     tmp_path / "walk.png")  # fmt: skip
    assert rc == 0, err
    rc, _, err = cli("project", style, tmp_path / "t.png", "--steps", 2, "--out", tmp_path / "p")
    assert rc == 2 and "not empty" in one_line(err)  # an earlier projection is never replaced


def test_project_per_layer_finds_one_w_per_layer(style, tmp_path):
    run = load_run(style, device="cpu")
    _target_png(run.game, run.G, tmp_path / "t.png")
    facts = api_latent.project(run, tmp_path / "t.png", 30, tmp_path / "p", per_layer=True)
    latent = torch.load(facts["latent"], weights_only=True)
    assert latent["space"] == "w" and latent["latent"].shape == (1, 6, 8)
    assert not torch.allclose(latent["latent"][0, 0], latent["latent"][0, 5])
    assert facts["per_layer"] and len(latent["noise"]) == 1


def test_project_in_z_for_a_plain_run_and_sample_its_latent(runs, cli, tmp_path):
    plain = runs[1]
    run = load_run(plain, device="cpu")
    target = run.sample(1, 3)
    arr = ((target[0, 0] + 1) * 127.5).round().to(torch.uint8).numpy()
    Image.fromarray(arr, "L").save(tmp_path / "t.png")
    rc, out, err = cli("project", plain, tmp_path / "t.png", "--steps", 20, "--json")
    assert rc == 0, err
    facts = json.loads(out)
    assert facts["space"] == "z" and facts["noise_maps"] == 0
    assert Path(facts["latent"]).parent == plain / "project-t"
    rc, out, err = cli("sample", plain, "--latent", facts["latent"])
    assert rc == 0 and (plain / "latent.png").is_file(), err
    walk = tmp_path / "walk.png"
    rc, _, err = cli("interpolate", plain, "--from", facts["latent"], "--to", facts["latent"],
                     "--steps", 3, "--out", walk)  # fmt: skip
    assert rc == 0 and walk.is_file(), err
    with Image.open(walk) as im:  # one walk (the file's one latent) of 3 steps, upscaled 6x
        assert im.size == (6 * 32, 6 * 12)
    rc, _, err = cli("interpolate", plain, "--from", facts["latent"])
    assert rc == 2 and "go together" in one_line(err)
    rc, _, err = cli("sample", plain, "--latent", facts["latent"], "--n", 3)
    assert rc == 2 and "drop --n" in one_line(err)


def test_rgb_run_projects_and_refuses_a_grayscale_image(cli, tmp_path):
    folder = tmp_path / "rgb"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(16):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), "RGB").save(
            folder / f"{i}.png"
        )
    run = tmp_path / "run"
    api.train("gan", run, dataset=f"folder:{folder}", image_size=8, channels=3, steps=1, **TINY)
    rc, out, err = cli("project", run, folder / "3.png", "--steps", 5, "--json")
    assert rc == 0, err
    with Image.open(json.loads(out)["projection"]) as im:
        assert im.mode == "RGB"
    Image.new("L", (8, 8)).save(tmp_path / "gray.png")
    rc, _, err = cli("project", run, tmp_path / "gray.png", "--steps", 2)
    assert rc == 2 and "is a L image; this run makes 3-channel images" in one_line(err)


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda p: Image.new("RGB", (8, 8)).save(p), "is a RGB image"),
        (lambda p: Image.new("L", (9, 8)).save(p), "is 9x8"),
        (lambda p: p.write_text("not an image"), "cannot read"),
    ],
)
def test_project_refuses_bad_images_in_one_line(runs, cli, tmp_path, make, message):
    make(tmp_path / "x.png")
    rc, _, err = cli("project", runs[1], tmp_path / "x.png", "--steps", 2)
    assert rc == 2 and message in one_line(err)


def test_latent_file_of_another_space_is_refused(style, runs, cli, tmp_path):
    torch.save({"format": "ganforge-latent", "space": "w", "latent": torch.zeros(1, 6, 8)},
               tmp_path / "w.pt")  # fmt: skip
    rc, _, err = cli("sample", runs[1], "--latent", tmp_path / "w.pt")
    assert rc == 2 and "holds a w latent" in one_line(err)
    torch.save({"format": "ganforge-latent", "space": "w", "latent": torch.zeros(1, 5, 8)},
               tmp_path / "w5.pt")  # fmt: skip
    rc, _, err = cli("sample", style, "--latent", tmp_path / "w5.pt")
    assert rc == 2 and "(B, 6, 8)" in one_line(err)


def test_projector_schedule_and_noise_regulariser():
    assert learning_rate(0.0) == 0.0 and learning_rate(0.5) == pytest.approx(0.1)
    assert learning_rate(0.025) == pytest.approx(0.05) and learning_rate(1.0) == 0.0
    flat = torch.ones(1, 1, 16, 16)  # perfectly correlated: 2 scales x 2 shifts x 1^2
    assert float(noise_regularizer([flat])) == pytest.approx(4.0)
    white = torch.randn(1, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    assert float(noise_regularizer([white])) < 0.01
    assert api_latent.project.__doc__


# ------------------------------------------------------------- the real style-based recipe
@pytest.mark.skipif("stylegan" not in RECIPES, reason="the stylegan recipe is not on this branch")
def test_latent_tools_on_the_stylegan_recipe(cli, tmp_path):
    """After the merge: mix, PPL in W, walks in W, projection (through the game's differentiable
    render_w and its noise maps) and its latent file on a tiny stylegan run."""
    folder = tiny_folder(tmp_path / "gray", n=16, size=16)
    run = tmp_path / "sg"
    small = ["--set=z_dim=16", "--set=g_width=8", "--set=d_width=8", "--set=mapping_layers=2"]
    rc, _, err = cli("train", "stylegan", "--dataset", f"folder:{folder}", "--image-size", 16,
                     "--channels", 1, "--steps", 2, "--batch-size", 8, "--out", run,
                     "--set", "report=false", *small)  # fmt: skip
    assert rc == 0, err
    assert cli("mix", run, "--rows", 1, "--cols", 2)[0] == 0
    rc, out, err = cli("eval", run, "--metrics", "ppl", "--ppl-samples", 20)
    assert rc == 0 and "space w" in out, err
    assert cli("interpolate", run, "--space", "w", "--rows", 1, "--steps", 3)[0] == 0
    rc, out, err = cli("project", run, folder / "img003.png", "--steps", 10, "--json")
    assert rc == 0, err
    assert json.loads(out)["noise_maps"] > 0  # the game exposes its constant noise maps
    rc, _, err = cli("sample", run, "--latent", json.loads(out)["latent"])
    assert rc == 0, err
