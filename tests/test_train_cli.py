import json
import os

import numpy as np
import pytest
from PIL import Image

from ganforge.recipes import DEFAULT_RECIPE, get_recipe
from robust_util import TINY, tiny_folder


def train(cli, out, *extra):
    return cli(
        "train",
        "dcgan",
        "--steps",
        "6",
        "--seed",
        "1",
        "--out",
        out,
        *TINY,
        "--set",
        "log_every=3",
        *extra,
    )


def test_train_writes_a_complete_run_directory(cli, tmp_path):
    out = tmp_path / "run"
    rc, stdout, err = train(cli, out, "--json")
    assert rc == 0, err
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["run"] == str(out) and summary["steps"] == 6
    assert summary["images_per_sec"] > 0 and summary["wall_seconds"] > 0
    assert np.isfinite(summary["d_loss"]) and np.isfinite(summary["g_loss"])
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["recipe"] == "dcgan" and cfg["steps"] == 6 and cfg["g_width"] == 8
    lines = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]
    assert [ln["step"] for ln in lines] == [3, 6]
    assert {"step", "epoch", "d_loss", "g_loss", "images_per_sec", "elapsed"} <= set(lines[0])
    grids = sorted(p.name for p in (out / "samples").iterdir())
    assert grids[-1] == "step-000006.png" and len(grids) == 6
    with Image.open(out / "samples.png") as img:
        assert img.size == (8 * 30 + 2, 8 * 30 + 2)  # 8x8 grid of 28 px with 2 px padding
    assert (out / "checkpoints" / "step-000006.safetensors").is_file()
    status = json.loads((out / "run.json").read_text())
    assert status["status"] == "finished" and status["steps"] == 6


def test_same_seed_gives_byte_identical_checkpoints(cli, tmp_path):
    assert train(cli, tmp_path / "a")[0] == 0
    assert train(cli, tmp_path / "b")[0] == 0
    a = (tmp_path / "a" / "checkpoints" / "step-000006.safetensors").read_bytes()
    b = (tmp_path / "b" / "checkpoints" / "step-000006.safetensors").read_bytes()
    assert a == b
    assert train(cli, tmp_path / "c", "--seed", "2")[0] == 0
    assert (tmp_path / "c" / "checkpoints" / "step-000006.safetensors").read_bytes() != a


def test_existing_output_is_never_overwritten(cli, tmp_path):
    out = tmp_path / "run"
    assert train(cli, out)[0] == 0
    before = (out / "checkpoints" / "step-000006.safetensors").read_bytes()
    rc, _, err = train(cli, out)
    assert rc == 2 and "exists and is not empty" in err and "--force" in err
    assert (out / "checkpoints" / "step-000006.safetensors").read_bytes() == before
    user = tmp_path / "mine"
    user.mkdir()
    (user / "precious.txt").write_text("keep me")
    rc, _, err = train(cli, user, "--force")
    assert rc == 2 and "holds no config.json and run.json of a ganforge run" in err
    assert (user / "precious.txt").read_text() == "keep me"
    assert train(cli, out, "--force")[0] == 0


def test_sample_npy_and_png(cli, tmp_path):
    out = tmp_path / "run"
    assert train(cli, out)[0] == 0
    rc, stdout, err = cli("sample", out, "--n", "256", "--out", tmp_path / "x.npy")
    assert rc == 0, err
    x = np.load(tmp_path / "x.npy")
    assert x.shape == (256, 1, 28, 28) and x.dtype == np.float32
    assert x.min() >= -1 and x.max() <= 1 and x.std() > 0
    rc2, _, _ = cli("sample", out, "--n", "256", "--out", tmp_path / "y.npy")
    assert rc2 == 0 and np.array_equal(x, np.load(tmp_path / "y.npy"))  # G.eval(): no BN drift
    rc, _, _ = cli("sample", out, "--n", "16", "--out", tmp_path / "g.png")
    with Image.open(tmp_path / "g.png") as img:
        assert rc == 0 and img.size == (4 * 30 + 2, 4 * 30 + 2)


def test_minimax_loss_and_d_steps(cli, tmp_path):
    rc, stdout, err = cli(
        "train",
        "gan",
        "--steps",
        "4",
        "--out",
        tmp_path / "g",
        "--json",
        "--set",
        "loss=minimax",
        "--set",
        "d_steps=3",
        "--batch-size",
        "8",
    )
    assert rc == 0, err
    summary = json.loads(stdout.splitlines()[-1])
    assert summary["g_loss"] < 0  # minimax G loss = E[log(1 - D(G(z)))] is negative
    status = json.loads((tmp_path / "g" / "run.json").read_text())
    assert status["steps"] == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "nope"], "unknown recipe 'nope'"),
        (["train", "--set", "lr=1"], "unknown config key 'lr'"),
        (["train", "--set", "d_steps"], "expected key=value"),
        (["train", "--dataset", "folder:/nonexistent/x"], "does not exist"),
        (["train", "--dataset", "imagenet"], "unknown dataset 'imagenet'"),
        (["train", "--steps", "x"], "invalid int value"),
        (["train", "--steps", "3", "--epochs", "1"], "not allowed with argument"),
        (["sample", "/nonexistent/run"], "is not a run directory"),
        (["sample", ".", "--out", "x.gif"], "use a .png or .npy"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2(cli, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, out, err = cli(*args)
    assert rc == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_non_image_folder_and_unreadable_path(cli, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("hello")
    rc, _, err = cli("train", "--dataset", f"folder:{folder}", "--steps", "1")
    assert rc == 2 and "no images found" in err
    (folder / "b.png").write_text("not really a png")
    rc, _, err = cli(
        "train", "--dataset", f"folder:{folder}", "--steps", "1", "--out", tmp_path / "r"
    )
    assert rc == 2 and "cannot read image" in err and "b.png" in err
    if os.getuid() != 0:  # root reads everything
        locked = tmp_path / "locked"
        locked.mkdir(mode=0)
        rc, _, err = cli("train", "--dataset", f"folder:{locked}", "--steps", "1")
        assert rc == 2 and "not readable" in err


def test_folder_dataset_trains_rgb_at_32px(cli, tmp_path):
    folder = tmp_path / "faces"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(20):
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    rc, out, err = cli(
        "train",
        "dcgan",
        "--dataset",
        f"folder:{folder}",
        "--image-size",
        "32",
        "--steps",
        "2",
        "--out",
        tmp_path / "run",
        *TINY,
        "--batch-size",
        "8",
    )
    assert rc == 0, err
    rc, _, err = cli("sample", tmp_path / "run", "--n", "4", "--out", tmp_path / "s.npy")
    assert np.load(tmp_path / "s.npy").shape == (4, 3, 32, 32)


def test_bare_train_uses_the_default_recipe(cli, tmp_path):
    """`ganforge train` with no recipe trains dcgan-cpu (issue 19), with its own settings."""
    folder = tiny_folder(tmp_path / "digits", n=64, size=28)
    rc, _, err = cli(
        "train", "--dataset", f"folder:{folder}", "--steps", "1", "--out", tmp_path / "run",
        "--set", "report=false",
    )  # fmt: skip
    assert rc == 0, err
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["recipe"] == DEFAULT_RECIPE == "dcgan-cpu"
    assert {k: cfg[k] for k in get_recipe(DEFAULT_RECIPE).overrides} == get_recipe(
        DEFAULT_RECIPE
    ).overrides
