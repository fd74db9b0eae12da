"""Issue 24 item 11: small wrong or missing words in docs, help and messages, and file modes."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat

import numpy as np
import pytest
from PIL import Image

from ganforge import api
from ganforge.data.builtin import FASHION_CLASSES
from ganforge.errors import a_or_an
from robust_util import ROOT, tiny_args, tiny_folder

TINY = {"g_width": 8, "d_width": 8, "batch_size": 16}


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    """A 2-step unconditional MLP run on 8x8 digits, written under umask 022."""
    os.environ["GANFORGE_OFFLINE"] = "1"
    out = tmp_path_factory.mktemp("slips") / "gan"
    old = os.umask(0o022)
    try:
        api.train("gan", out, progress=False, dataset="digits", steps=2, **TINY)
    finally:
        os.umask(old)
    return out


def test_readme_boots_example_samples_ankle_boots():
    readme = (ROOT / "README.md").read_text()
    classes = re.findall(r"--class (\d+) --out boots\.png", readme)
    assert classes, "the README's boots example is gone"
    assert all(FASHION_CLASSES[int(k)] == "Ankle boot" for k in classes), classes


def test_lab_help_names_the_recipes_mode_collapse_runs(cli, capsys):
    from ganforge.cli import main
    from ganforge.lab.mode_collapse import COLLAPSING
    from ganforge.toy import BEST_RECIPE

    with pytest.raises(SystemExit):
        main(["lab", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    desc = text[text.index("mode-collapse:") :]
    assert "PacGAN" not in desc
    for recipe in (COLLAPSING, BEST_RECIPE["ring8"]):
        assert re.search(rf"(?<![\w-]){re.escape(recipe)}(?![\w-])", desc), (recipe, desc)


def test_damaged_checkpoints_are_counted_not_called_empty(gan_run, tmp_path, cli):
    run = tmp_path / "run"
    shutil.copytree(gan_run, run)
    for path in (run / "checkpoints").glob("step-*.safetensors"):
        path.write_text("damaged\n")
    rc, _, err = cli("sample", run, "--out", tmp_path / "s.png")
    assert rc == 2 and "is empty" not in err
    last = err.strip().splitlines()[-1]
    assert (
        last.startswith("ganforge: error:") and "skipped 1 damaged file(s) in checkpoints/" in last
    )
    shutil.rmtree(run / "checkpoints")
    (run / "checkpoints").mkdir()
    rc, _, err = cli("sample", run, "--out", tmp_path / "s.png")
    assert rc == 2 and "checkpoints/ holds no step-*.safetensors" in err


def test_checkpoint_config_mismatch_message_is_whole(gan_run, tmp_path, cli):
    run = tmp_path / "run"
    shutil.copytree(gan_run, run)
    cfg = json.loads((run / "config.json").read_text())
    cfg["g_width"] = 16
    (run / "config.json").write_text(json.dumps(cfg))
    rc, _, err = cli("sample", run, "--out", tmp_path / "s.png")
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "size mismatch for " in err and "torch.Size([8, " in err
    assert err.strip().endswith("was config.json edited?") and "state_dict for" not in err


def test_npy_errors_say_what_the_file_is(tmp_path, cli):
    (tmp_path / "text.npy").write_text("1 2 3\n")
    (tmp_path / "empty.npy").write_bytes(b"")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    expect = {
        "text.npy": "is not a .npy file (it lacks the .npy header)",
        "empty.npy": "is not a .npy file (an empty file)",
        "obj.npy": "holds pickled Python objects",
    }
    for name, fragment in expect.items():
        rc, _, err = cli("eval", tmp_path / name, "--dataset", "digits")
        assert rc == 2 and fragment in err and len(err.strip().splitlines()) == 1, (name, err)
        if name != "obj.npy":
            assert "pickled" not in err, err


def test_messages_use_an_before_vowels(gan_run, tmp_path, cli):
    assert a_or_an("adversarial") == "an adversarial" and a_or_an("gan") == "a gan"
    Image.new("L", (8, 8), 0).save(tmp_path / "x.png")
    rc, _, err = cli("translate", gan_run, "--input", tmp_path / "x.png", "--out", tmp_path / "t")
    assert rc == 2 and "is an adversarial run" in err, err


def test_run_files_follow_the_umask(gan_run):
    from ganforge.run_dir import write_atomic

    files = [gan_run / "config.json", gan_run / "run.json"]
    files += list((gan_run / "checkpoints").glob("*.safetensors"))
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    old = os.umask(0o027)
    try:
        write_atomic(gan_run / "x.json", b"{}", "")
    finally:
        os.umask(old)
    assert stat.S_IMODE((gan_run / "x.json").stat().st_mode) == 0o640


def test_minutes_budget_has_a_header_time_left_and_names_report_files(tmp_path, cli):
    folder = tiny_folder(tmp_path / "imgs", n=16)
    args = tiny_args(folder, tmp_path / "run", 1)
    i = args.index("--steps")
    args[i : i + 2] = ["--minutes", "0.01"]
    rc, out, err = cli(*args, "--set", "log_every=5")
    assert rc == 0, err
    header = f"ganforge: training gan on folder:{folder} for 0.01 minutes (until "
    assert any(ln.startswith(header) for ln in err.splitlines()), err
    steps = [ln for ln in err.splitlines() if ln.startswith("step ")]
    assert steps and all(re.search(r"  \d+:\d\d left$", ln) for ln in steps), steps
    assert f"report: {tmp_path / 'run' / 'report.html'}" in out.splitlines()
    assert f"timelapse: {tmp_path / 'run' / 'timelapse.gif'}" in out.splitlines()
    rc, _, err = cli(*tiny_args(folder, tmp_path / "run2", 2))
    assert rc == 0 and f"ganforge: training gan on folder:{folder} for 2 steps into " in err
