"""Random configs never produce a traceback: valid ones train one step, invalid ones exit 2
with a one-line error naming the offending key."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganforge.config import CONDITIONING, LOSSES, NORMS, PENALTIES
from ganforge.recipes import get_recipe
from robust_util import error_line, tiny_folder

VALUES = {
    "loss": st.sampled_from(LOSSES + ("hinged", "")),
    "penalty": st.sampled_from(PENALTIES + ("gp2",)),
    "d_norm": st.sampled_from(NORMS + ("group",)),
    "g_norm": st.sampled_from(NORMS + ("group",)),
    "conditioning": st.sampled_from(CONDITIONING + ("labels",)),
    "arch": st.sampled_from(("mlp", "dcgan", "resnet", "vit")),
    "game": st.sampled_from(("adversarial", "pix2pix", "chess")),
    "optimizer": st.sampled_from(("adam", "rmsprop", "sgd")),
    "on_nan": st.sampled_from(("stop", "skip", "ignore")),
    "d_steps": st.integers(-1, 3).map(str) | st.just("two"),
    "pack": st.integers(0, 4).map(str),
    "z_dim": st.integers(-1, 16).map(str),
    "g_width": st.integers(0, 12).map(str),
    "d_width": st.integers(0, 12).map(str),
    "batch_size": st.sampled_from(("16", "8", "7", "0", "-4", "1e3")),
    "image_size": st.sampled_from(("8", "16", "0", "-2", "eight")),
    "channels": st.sampled_from(("0", "1", "2", "3")),
    "label_smoothing": st.floats(-0.5, 1.5).map(repr) | st.just("nan"),
    "ema": st.sampled_from(("0", "0.5", "0.999", "1", "-0.1")),
    "spectral_norm": st.sampled_from(("true", "false", "maybe")),
    "self_attention": st.sampled_from(("true", "false")),
    "lr_d": st.floats(0, 1e-2).map(repr) | st.sampled_from(("-1", "inf", "fast")),
    "beta1": st.sampled_from(("0", "0.5", "1.0", "x")),
    "clip": st.sampled_from(("0", "0.01", "-1")),
    "instance_noise": st.sampled_from(("0", "0.1", "-0.1")),
    "penalty_weight": st.sampled_from(("0", "10", "-10")),
    "keep_checkpoints": st.sampled_from(("1", "0")),
    "info_categorical": st.sampled_from(("0", "3", "-3")),
    "info_continuous": st.sampled_from(("0", "2")),
    "num_classes": st.sampled_from(("0", "10", "1")),
    "g_widht": st.just("8"),  # unknown keys
    "learning_rate": st.just("0.1"),
}

SETS = st.lists(
    st.sampled_from(sorted(VALUES)).flatmap(lambda k: st.tuples(st.just(k), VALUES[k])),
    min_size=1,
    max_size=4,
    unique_by=lambda kv: kv[0],
)
RECIPES = st.sampled_from(("gan", "dcgan", "wgan-gp", "lsgan", "hinge-sn", "infogan", "acgan"))


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(recipe=RECIPES, sets=SETS)
def test_random_configs_never_traceback(tmp_path_factory, cli, recipe, sets):
    root = tmp_path_factory.getbasetemp()
    folder = root / "fuzz-imgs"
    if not folder.exists():
        tiny_folder(folder, n=32)
    out = root / "fuzz-run"
    args = ["train", recipe, "--dataset", f"folder:{folder}", "--steps", "1", "--out", out]
    base = {"image_size": "8", "channels": "1", "g_width": "8", "d_width": "8"}
    base["batch_size"] = "16"
    for key, value in {**base, **dict(sets)}.items():
        args += ["--set", f"{key}={value}"]
    rc, stdout, err = cli(*args, "--force")
    assert "Traceback" not in err and "internal error" not in err, (recipe, sets, err)
    if rc == 0:
        info = json.loads((out / "run.json").read_text())
        assert info["status"] == "finished" and info["steps"] == 1
        line = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
        assert line["step"] == 1
    else:
        assert rc == 2, (recipe, sets, rc, err)
        line = error_line(err)
        # the key at fault is one we set, or one the recipe sets that conflicts with ours
        keys = set(dict(sets)) | set(base) | set(get_recipe(recipe).overrides)
        named = [k for k in keys if k in line]
        assert named, f"error names none of {sorted(keys)}: {line}"
