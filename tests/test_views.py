"""Views: report.html (checked in headless Chromium), timelapse, TensorBoard, progress bar,
interpolation, the runs table and generator export."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge import api
from ganforge.games import build_game
from ganforge.pagecheck import check_pages, find_chromium
from ganforge.views import interpolate as interp
from ganforge.views.runs import list_runs, resolve_status

TINY_SETS = {"g_width": 8, "d_width": 8, "batch_size": 16}


@pytest.fixture(scope="module")
def cond_run(tmp_path_factory):
    """One tiny class-conditional run on 8x8 digits: 6 steps, a grid every 2, TensorBoard on,
    the progress bar forced on (as on a terminal) and its output captured."""
    os.environ["GANFORGE_OFFLINE"] = "1"
    os.environ["MPLBACKEND"] = "Agg"
    out = tmp_path_factory.mktemp("views") / "cgan-run"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        summary = api.train(
            "cgan",
            out,
            progress=True,
            dataset="digits",
            steps=6,
            sample_every=2,
            log_every=2,
            tensorboard=True,
            **TINY_SETS,
        )
    assert summary.steps == 6
    return out, err.getvalue()


# ------------------------------------------------------------------ end of training, progress
def test_training_writes_report_and_timelapse_with_one_frame_per_grid(cond_run):
    run, _ = cond_run
    grids = sorted(p.name for p in (run / "samples").glob("step-*.png"))
    assert grids == ["step-000002.png", "step-000004.png", "step-000006.png"]
    assert (run / "report.html").is_file()
    with Image.open(run / "timelapse.gif") as gif:
        assert gif.n_frames == len(grids)
        assert gif.info["loop"] == 0


def test_progress_bar_shows_step_losses_and_eta(cond_run):
    _, err = cond_run
    last = err.replace("\r", "\n").strip().splitlines()[-1]
    assert "6/6" in last  # step of total
    assert re.search(r"d=-?\d+\.\d{3}", last) and re.search(r"g=-?\d+\.\d{3}", last)
    assert re.search(r"\[\d\d:\d\d<\d\d:\d\d", last)  # elapsed<ETA


def test_plain_progress_lines_when_not_a_tty(tmp_path, capsys):
    api.train("gan", tmp_path / "r", progress=False, dataset="digits", steps=2, log_every=1,
              report=False, **TINY_SETS)  # fmt: skip
    err = capsys.readouterr().err
    assert re.search(r"^step 1/2  d_loss \d+\.\d{4}  g_loss \d+\.\d{4}  \d+ img/s$", err, re.M)
    assert "\r" not in err and not (tmp_path / "r" / "report.html").exists()


def test_progress_bar_shows_time_left_for_a_time_budget(tmp_path):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        api.train("gan", tmp_path / "r", progress=True, dataset="digits", minutes=0.01,
                  log_every=1, report=False, **TINY_SETS)  # fmt: skip
    assert re.search(r"left=\d\d:\d\d", err.getvalue())


def test_tensorboard_has_scalars_and_sample_images(cond_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run, _ = cond_run
    acc = EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    tags = acc.Tags()
    assert {"d_loss", "g_loss", "images_per_sec"} <= set(tags["scalars"])
    assert [e.step for e in acc.Scalars("d_loss")] == [2, 4, 6]
    metrics = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [e.value for e in acc.Scalars("g_loss")] == pytest.approx(
        [m["g_loss"] for m in metrics], abs=1e-5
    )
    images = acc.Images("samples")
    assert [e.step for e in images] == [2, 4, 6]
    with (
        Image.open(io.BytesIO(images[-1].encoded_image_string)) as im,
        Image.open(run / "samples.png") as final,
    ):
        assert im.size == final.size
        assert np.array_equal(np.asarray(im.convert("L")), np.asarray(final.convert("L")))


# ---------------------------------------------------------------------------- timelapse
def test_timelapse_cli_one_frame_per_grid_even_when_grids_repeat(cond_run, tmp_path, cli):
    run = tmp_path / "copy"
    shutil.copytree(cond_run[0], run)
    same = run / "samples" / "step-000002.png"
    for step in (8, 10, 12):  # identical grids must still be separate frames
        shutil.copy(same, run / "samples" / f"step-{step:06d}.png")
    rc, out, err = cli("timelapse", run, "--out", tmp_path / "t.gif", "--frame-ms", 100)
    assert rc == 0, err
    assert "(6 frames)" in out
    with Image.open(tmp_path / "t.gif") as gif:
        assert gif.n_frames == 6
        durations = []
        for k in range(gif.n_frames):
            gif.seek(k)
            durations.append(gif.info["duration"])
    assert durations[:-1] == [100] * 5 and durations[-1] > 100


def test_timelapse_without_grids_is_a_one_line_error(tmp_path, cli):
    run = tmp_path / "empty"
    run.mkdir()
    (run / "config.json").write_text("{}")
    rc, _, err = cli("timelapse", run)
    assert rc == 2
    assert err.startswith("ganforge: error:") and "no sample grids" in err
    assert err.count("\n") == 1


# ------------------------------------------------------------------------------- report
def test_report_is_self_contained(cond_run, tmp_path, cli):
    run, _ = cond_run
    rc, out, err = cli("report", run, "--out", tmp_path / "r.html")
    assert rc == 0, err
    page = (tmp_path / "r.html").read_text()
    srcs = re.findall(r'src="([^"]*)"', page)
    assert srcs and all(
        s.startswith(("data:image/png;base64,", "data:image/gif;base64,")) for s in srcs
    )
    assert "http://" not in page and "https://" not in page.replace("https://arxiv", "")  # fmt: skip
    assert "<script" not in page and "<link" not in page
    # final grid + timelapse + 3 grids + losses + other logs + throughput
    assert len(srcs) == 8
    for text in ("step 2", "step 4", "step 6", "timelapse.gif (3 frames)", "finished"):
        assert text in page
    assert "conditioning" in page and "images/s (whole run)" in page


def test_report_shows_evaluation_curves_and_best_fd(cond_run, tmp_path):
    from ganforge.views.report import write_report

    run = tmp_path / "evaluated"
    shutil.copytree(cond_run[0], run)
    with open(run / "metrics.jsonl", "a") as fh:
        for step, fid in ((2, 90.5), (4, 71.25), (6, 80.0)):
            fh.write(json.dumps({"step": step, "epoch": 0.1, "eval_fid": fid}) + "\n")
    info = json.loads((run / "run.json").read_text())
    info["best"] = {"step": 4, "fid": 71.25}
    (run / "run.json").write_text(json.dumps(info))
    page = write_report(run).read_text()
    assert "evaluation metrics" in page and "71.250 at step 4" in page
    assert len(re.findall(r'<img src="data:', page)) == 9
    assert "eval_fid" in page  # a column of the metrics table


@pytest.mark.skipif(find_chromium() is None, reason="chromium binary not installed")
def test_report_in_headless_chromium(cond_run, tmp_path):
    run, _ = cond_run
    # A control page: one image from the network, one missing file; both must be caught.
    control = tmp_path / "control.html"
    control.write_text(
        '<html><body><img alt="net" src="http://example.com/x.png">'
        '<img alt="missing" src="nope.png"></body></html>'
    )
    shot = tmp_path / "report.png"
    report, ctrl = check_pages([(run / "report.html", shot), (control, None)])
    assert report.images == 8 and report.images_loaded == 8, report.problems
    assert report.external_requests == [] and report.problems == []
    assert any(u.startswith("file:") for u in report.requests)
    with Image.open(shot) as im:
        assert im.width == 1200 and im.height > 1000
        assert len(np.unique(np.asarray(im.convert("L")))) > 20  # not a blank page
    assert ctrl.images == 2 and ctrl.images_loaded == 0
    assert ctrl.external_requests == ["http://example.com/x.png"]
    assert len(ctrl.problems) == 3


# --------------------------------------------------------------------------------- runs
def _fake_run(root: Path, name: str, **info) -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / "config.json").write_text("{}")
    base = {"recipe": "dcgan", "dataset": "digits", "steps": 10, "wall_seconds": 5.0,
            "images_per_sec": 32.0, "started": time.time() - 100, "updated": time.time()}  # fmt: skip
    base.update(info)
    (run / "run.json").write_text(json.dumps(base))
    return run


def test_runs_reports_killed_runs_as_interrupted(cond_run, tmp_path, cli):
    root = tmp_path / "runs"
    shutil.copytree(cond_run[0], root / "real")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _fake_run(root, "killed", status="running", pid=dead.pid, steps=3)
    _fake_run(root, "alive", status="running", pid=os.getpid(), steps=7)
    # our pid, but the status was written long before this process started: a recycled pid
    _fake_run(root, "recycled", status="running", pid=os.getpid(), updated=1000.0, steps=1)
    _fake_run(root, "stopped", status="interrupted", pid=dead.pid, steps=2)
    _fake_run(root, "nan", status="diverged", pid=dead.pid, steps=4,
              best={"step": 2, "fid": 12.5})  # fmt: skip
    rc, out, err = cli("runs", root, "--json", "--sort", "steps")
    assert rc == 0, err
    rows = json.loads(out)
    status = {r["run"]: r["status"] for r in rows}
    assert status == {
        "real": "finished",
        "killed": "interrupted",
        "alive": "running",
        "recycled": "interrupted",
        "stopped": "interrupted",
        "nan": "diverged",
    }
    assert [r["steps"] for r in rows] == [7, 6, 4, 3, 2, 1]
    assert {r["run"]: r["best_fd"] for r in rows}["nan"] == 12.5
    rc, table, _ = cli("runs", root, "--sort", "run")
    lines = table.splitlines()
    assert lines[0].split() == ["run", "recipe", "dataset", "steps", "wall", "img/s", "best",
                                "FD", "status"]  # fmt: skip
    killed = next(ln for ln in lines if ln.startswith("killed"))
    assert killed.split()[-1] == "interrupted"
    assert [ln.split()[0] for ln in lines[1:]] == sorted(status)


def test_runs_errors(tmp_path, cli):
    rc, _, err = cli("runs", tmp_path / "missing")
    assert rc == 2 and "is not a folder" in err
    rc, _, err = cli("runs", tmp_path, "--sort", "colour")
    assert rc == 2 and "bad --sort 'colour'" in err
    assert resolve_status({"status": "running", "pid": -1}) == "interrupted"
    assert list_runs(tmp_path) == []


# ---------------------------------------------------------------------------- interpolate
def test_slerp_keeps_norm_and_endpoints():
    g = torch.Generator().manual_seed(0)
    z0 = torch.randn(4, 64, generator=g)
    z1 = torch.randn(4, 64, generator=g)
    z1 = z1 / z1.norm(dim=1, keepdim=True) * z0.norm(dim=1, keepdim=True)
    assert torch.allclose(interp.slerp(z0, z1, 0.0), z0, atol=1e-5)
    assert torch.allclose(interp.slerp(z0, z1, 1.0), z1, atol=1e-5)
    mid = interp.slerp(z0, z1, 0.5)
    assert torch.allclose(mid.norm(dim=1), z0.norm(dim=1), rtol=1e-4)
    assert (interp.lerp(z0, z1, 0.5).norm(dim=1) < z0.norm(dim=1) * 0.9).all()
    e = torch.eye(2)  # orthogonal unit vectors: the midpoint is (1, 1)/sqrt(2)
    assert torch.allclose(interp.slerp(e[:1], e[1:], 0.5), torch.tensor([[1.0, 1.0]]) / 2**0.5)
    same = interp.slerp(z0, z0.clone(), 0.3)  # angle 0: falls back to lerp, no NaN
    assert torch.allclose(same, z0, atol=1e-5)


def test_interpolate_class_morph(cond_run, tmp_path, cli):
    run, _ = cond_run
    rc, out, err = cli("interpolate", run, "--classes", "3,8", "--steps", 5, "--rows", 2,
                       "--out", tmp_path / "m.png")  # fmt: skip
    assert rc == 0, err
    assert "m.png" in out and "m.gif" in out
    with Image.open(tmp_path / "m.png") as im:  # 2 rows x 5 steps of 8x8 images, enlarged x6
        assert im.size == ((5 * 10 + 2) * 6, (2 * 10 + 2) * 6)
    with Image.open(tmp_path / "m.gif") as gif:
        assert gif.n_frames == 2 * 5 - 2  # there and back
    loaded = api.load_run(run, device="cpu")
    walk = interp.walk_inputs(loaded.game, 2, 5, "slerp", 0, [3, 8])
    x = walk.inputs.reshape(2, 5, -1)
    z_dim = loaded.cfg.z_dim
    assert torch.equal(x[:, 0, z_dim:].argmax(1), torch.tensor([3, 3]))
    assert torch.equal(x[:, -1, z_dim:].argmax(1), torch.tensor([8, 8]))
    assert torch.allclose(x[:, 2, z_dim + 3], torch.tensor(0.5)) and torch.allclose(
        x[:, 2, z_dim + 8], torch.tensor(0.5)
    )
    assert torch.equal(x[:, 0, :z_dim], x[:, -1, :z_dim])  # z fixed along a morph
    images = interp.render_walk(loaded.G, walk)
    expected = loaded.game.render(loaded.G, {"z": x[:, 0, :z_dim], "y": torch.tensor([3, 3])})
    assert torch.allclose(images.reshape(2, 5, *images.shape[1:])[:, 0], expected, atol=1e-6)


def test_interpolate_latent_walk_and_errors(cond_run, tmp_path, cli):
    run, _ = cond_run
    rc, out, err = cli("interpolate", run, "--mode", "lerp", "--steps", 3, "--rows", 1)
    assert rc == 0, err
    assert (run / "interpolate-lerp.png").is_file() and (run / "interpolate-lerp.gif").is_file()
    rc, _, err = cli("interpolate", run, "--classes", "3,12")
    assert rc == 2 and "class 12 out of range" in err
    rc, _, err = cli("interpolate", run, "--steps", 1)
    assert rc == 2 and "at least 2 steps" in err
    cfg = api.make_config("dcgan", {"dataset": "digits", **TINY_SETS})
    game = build_game(cfg, (1, 8, 8), 0)
    with pytest.raises(Exception, match="needs a conditional run"):
        interp.walk_inputs(game, 2, 3, "lerp", 0, [1, 2])
    walk = interp.walk_inputs(game, 2, 4, "lerp", 0)
    x = walk.inputs.reshape(2, 4, -1)
    assert torch.allclose(x[:, 1], (2 * x[:, 0] + x[:, 3]) / 3, atol=1e-6)


# ------------------------------------------------------------------------------- export
def test_export_round_trips_torchscript_and_onnx(cond_run, tmp_path, cli, monkeypatch):
    from ganforge.export import load_exported

    run, _ = cond_run
    loaded = api.load_run(run, device="cpu")
    g = torch.Generator().manual_seed(7)
    z = torch.randn(3, loaded.cfg.z_dim, generator=g)
    y = torch.tensor([0, 5, 9])
    with torch.no_grad():
        expected = loaded.game.render(loaded.G, {"z": z, "y": y}).numpy()

    rc, out, err = cli("export", run, "--format", "torchscript", "--out", tmp_path / "g.pt",
                       "--json")  # fmt: skip
    assert rc == 0, err
    facts = json.loads(out)
    assert facts["max_abs_diff"] <= 1e-5 and facts["inputs"][0]["shape"] == [-1, 100 + 10]
    ts = torch.jit.load(str(tmp_path / "g.pt"))
    vec = loaded.game.g_input({"z": z, "y": y})
    got = ts(vec).detach().numpy()
    assert got.shape == (3, 1, 8, 8)
    assert np.abs(got - expected).max() <= 1e-5

    rc, out, err = cli("export", run, "--format", "onnx", "--input", "latent",
                       "--out", tmp_path / "g.onnx")  # fmt: skip
    assert rc == 0, err
    assert "max |exported - PyTorch|" in out and "y [-1] int64" in out
    got = load_exported(tmp_path / "g.onnx", "onnx")(z.numpy(), y.numpy())
    assert np.abs(got - expected).max() <= 1e-5
    # without onnxruntime the check falls back to onnx's reference evaluator
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    got = load_exported(tmp_path / "g.onnx", "onnx")(z.numpy(), y.numpy())
    assert np.abs(got - expected).max() <= 1e-5


def test_export_latent_inputs_for_infogan(tmp_path):
    from ganforge.export import export_loaded

    cfg = api.make_config("infogan", {"dataset": "digits", **TINY_SETS})
    torch.manual_seed(0)
    game = build_game(cfg, (1, 8, 8), 10).eval()
    facts = export_loaded(game, game.G, "torchscript", tmp_path / "info.pt", "latent")
    assert [i["name"] for i in facts["inputs"]] == ["z", "cat", "cont"]
    ts = torch.jit.load(str(tmp_path / "info.pt"))
    inputs = game.fixed_inputs(4, 3, codes={0: 7, 1: 0.5})
    with torch.no_grad():
        expected = game.render(game.G, inputs)
        got = ts(inputs["z"], inputs["cat"], inputs["cont"])
    assert torch.allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("recipe", ["gan", "infogan"])
def test_export_onnx_latent_for_unconditional_and_infogan_runs(recipe, tmp_path, cli):
    """Issue 24 item 6: ``--input latent`` failed ("internal error" with colour codes) for runs
    without labels (torch.export's dynamic shapes) and for InfoGAN (an input named like a node
    output), leaving ``.g.onnx.tmp`` behind."""
    from ganforge.export import load_exported

    run = tmp_path / recipe
    api.train(recipe, run, progress=False, dataset="digits", steps=2, **TINY_SETS)
    rc, out, err = cli("export", run, "--format", "onnx", "--input", "latent",
                       "--out", tmp_path / "g.onnx")  # fmt: skip
    assert rc == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.onnx", recipe]
    loaded = api.load_run(run, device="cpu")
    game = loaded.game
    codes = {0: 3, 1: 0.5} if recipe == "infogan" else None
    inputs = game.fixed_inputs(5, 11, codes=codes)
    with torch.no_grad():
        expected = game.render(loaded.G, inputs).numpy()
    feeds = [inputs["z"]] + ([inputs["cat"], inputs["cont"]] if codes else [])
    got = load_exported(tmp_path / "g.onnx", "onnx")(*[t.numpy() for t in feeds])
    assert got.shape == (5, 1, 8, 8)
    assert np.abs(got - expected).max() <= 1e-5


def test_export_failure_leaves_no_temporary_and_keeps_old_file(cond_run, tmp_path, cli,
                                                               monkeypatch):  # fmt: skip
    import onnx

    run, _ = cond_run
    out = tmp_path / "g.onnx"
    out.write_bytes(b"an earlier export")

    def broken(*a, **k):
        raise onnx.checker.ValidationError("\x1b[96mbad\x1b[0m graph\nmore lines")

    monkeypatch.setattr(onnx.checker, "check_model", broken)
    rc, _, err = cli("export", run, "--format", "onnx", "--out", out)
    assert rc != 0 and len(err.strip().splitlines()) == 1 and "\x1b" not in err, err
    assert "bad graph" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.onnx"]
    assert out.read_bytes() == b"an earlier export"

    def failing_export(*a, **k):
        raise RuntimeError("Failed to export. \x1b[96mThis is step 1/3\x1b[0m\n- details")

    monkeypatch.setattr(torch.onnx, "export", failing_export)
    rc, _, err = cli("export", run, "--format", "onnx", "--out", out)
    assert rc == 2 and err.startswith("ganforge: error: ONNX export failed"), err
    assert "This is step 1/3" in err and "\x1b" not in err and len(err.strip().splitlines()) == 1


def test_export_errors(cond_run, tmp_path, cli):
    run, _ = cond_run
    rc, _, err = cli("export", run, "--format", "tflite", "--out", tmp_path / "g")
    assert rc == 2 and "invalid choice: 'tflite'" in err
    rc, _, err = cli("export", run, "--format", "onnx", "--out", tmp_path)
    assert rc == 2 and "it is a folder" in err
