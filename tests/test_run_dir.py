"""The run directory at the ground: the one output-folder rule and the run checks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ganforge import run_dir
from ganforge.config import Config
from ganforge.errors import CheckpointError, GanforgeError


def test_free_folder_keeps_a_free_name_and_suffixes_a_taken_one(tmp_path):
    base = tmp_path / "runs" / "toy"
    assert run_dir.free_folder(base) == base  # absent
    base.mkdir(parents=True)
    assert run_dir.free_folder(base) == base  # empty folder: still free
    (base / "result.json").write_text("{}")
    assert run_dir.free_folder(base) == Path(f"{base}-2")
    Path(f"{base}-2").write_text("a file takes the name too")
    assert run_dir.free_folder(base) == Path(f"{base}-3")


def test_default_run_out_names_recipe_dataset_and_time_and_never_reuses_a_run(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run_dir.time, "strftime", lambda fmt: "20260102-030405")
    cfg = Config(recipe="wgan-gp", dataset="folder:/data/my faces/")
    out = run_dir.default_run_out(cfg)
    assert out == Path("runs/wgan-gp-folder-_data_my faces-20260102-030405")
    out.mkdir(parents=True)
    (out / "config.json").write_text("{}")
    assert run_dir.default_run_out(cfg) == Path(f"{out}-2")  # same second: a new folder
    assert re.fullmatch(r"[^:]+", str(run_dir.default_run_out(Config(dataset="paired:x"))))


def test_result_folder_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "lab"
    assert run_dir.result_folder(out, "unused", force=False) == out  # absent: fine
    out.mkdir()
    (out / "result.json").write_text("{}")
    with pytest.raises(GanforgeError, match="exists and is not empty; .* pass --force"):
        run_dir.result_folder(out, "unused", force=False)
    assert run_dir.result_folder(out, "unused", force=True) == out  # an earlier result


def test_result_folder_force_replaces_only_an_earlier_result(tmp_path):
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "holiday.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(GanforgeError, match=r"holds no earlier result \(result.json\)"):
        run_dir.result_folder(mine, "unused", force=True)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(GanforgeError, match="exists and is not a folder"):
        run_dir.result_folder(a_file, "unused", force=True)
    assert (mine / "holiday.jpg").read_bytes() == b"\xff\xd8"


def test_result_folder_default_gets_a_suffix(tmp_path):
    default = tmp_path / "runs" / "toy-ring8-gan"
    default.mkdir(parents=True)
    (default / "result.json").write_text("{}")
    assert run_dir.result_folder(None, default, force=False) == Path(f"{default}-2")


def test_prepare_new_refuses_an_existing_run_without_force_and_a_non_run_with_it(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="exists and is not empty; .* --force"):
        run_dir.prepare_new(out, force=False)
    other = tmp_path / "mine"
    other.mkdir()
    (other / "thesis.tex").write_text("keep me")
    with pytest.raises(
        CheckpointError,
        match="holds no config.json and run.json of a ganforge run; choose another --out",
    ):
        run_dir.prepare_new(other, force=True)
    assert (other / "thesis.tex").read_text() == "keep me"


def test_force_replaces_a_run_stopped_before_it_wrote_its_config(tmp_path):
    """A run killed in its first moments leaves only run.json: --force may replace it, while a
    folder whose lone run.json is someone else's is still refused."""
    out = tmp_path / "run"
    out.mkdir()
    status = {"status": "running", "recipe": "dcgan", "started": 1.0, "steps": 0}
    (out / "run.json").write_text(json.dumps(status))
    run_dir.prepare_new(out, force=True)
    assert [p.name for p in out.iterdir()] == [run_dir.LOCK_NAME]
    run_dir.release_run(out)
    other = tmp_path / "other"
    other.mkdir()
    (other / "run.json").write_text('{"laps": 3}')
    with pytest.raises(CheckpointError, match="holds no config.json and run.json"):
        run_dir.prepare_new(other, force=True)
    assert (other / "run.json").read_text() == '{"laps": 3}'


def test_check_run_says_what_is_missing(tmp_path):
    with pytest.raises(CheckpointError, match="is not a run directory"):
        run_dir.check_run(tmp_path / "absent")
    with pytest.raises(CheckpointError, match=r"not a ganforge run \(no config.json\)"):
        run_dir.check_run(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    assert run_dir.check_run(str(tmp_path)) == tmp_path
