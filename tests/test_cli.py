"""The command line's shape: train flags come from the config dataclass, and every command
module reaches the library only through the API."""

from __future__ import annotations

import dataclasses
import json

from ganforge.cli import build_parser
from ganforge.config import Config


def _train_parser():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sub.choices["train"]


def test_every_config_key_is_a_train_flag_with_its_choices():
    options = {s: a for a in _train_parser()._actions for s in a.option_strings}
    for f in dataclasses.fields(Config):
        if f.name == "recipe":  # the positional argument
            continue
        flag = "--" + f.name.replace("_", "-")
        assert flag in options, f"no {flag} for config key {f.name}"
        choices = f.metadata.get("choices")
        if choices and options[flag].choices is not None:
            assert tuple(options[flag].choices) == tuple(choices)
    assert "--no-report" in options and "--no-compile" in options  # booleans both ways


def test_a_config_flag_acts_like_set(cli, tmp_path):
    out = tmp_path / "run"
    rc, _, err = cli(
        "train", "gan", "--dataset", "digits", "--steps", "1", "--g-width", "8",
        "--d-width", "8", "--batch-size", "16", "--no-report", "--lr-d", "0.001",
        "--loss", "hinge", "--out", out,
    )  # fmt: skip
    assert rc == 0, err
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["g_width"] == 8 and cfg["report"] is False and cfg["lr_d"] == 0.001
    assert cfg["loss"] == "hinge" and not (out / "report.html").exists()
    rc, _, err = cli("train", "--resume", out, "--steps", "2", "--lr-d", "0.01")
    assert rc == 2 and "--resume uses the run's own config" in err
    rc, _, err = cli("train", "gan", "--loss", "square")
    assert rc == 2 and "invalid choice: 'square'" in err and err.count("\n") == 1
