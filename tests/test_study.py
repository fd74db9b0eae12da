"""The equal-budget study (issue 18): budgets and FLOP counting, sampled settings, claimed
cells (exclusive across processes, skipped when done, resumed after SIGKILL, retried once then
failed), shards, the outputs (study.jsonl/md/html, --summary) and the spec check.

Real studies are tiny: mnist5k, widths 8, batch 16, a few steps, FD on 200 samples."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from ganforge import api
from ganforge.errors import GanforgeError
from ganforge.pagecheck import check_pages, find_chromium
from ganforge.recipes import get_recipe
from ganforge.study.budget import budget_overrides, count_step_flops, parse_budget
from ganforge.study.cells import Backend, Cell, claim, plan_cells, run_cell, shard_cells
from ganforge.study.hparams import BATCH_SIZES, D_STEPS, sample_settings
from ganforge.study.runner import run_study
from ganforge.study.spec import StudySpec, save_or_check
from ganforge.study.summary import best_of_n
from ganforge.training.threads import available_cores
from robust_util import env

TINY = {"g_width": "8", "d_width": "8", "batch_size": "16", "report": "false"}
TINY_ARGS = [a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]
SMALL_EVAL = ["--eval-n", "200", "--allow-small", "--dataset", "mnist5k"]


def _spec(**kw) -> StudySpec:
    base = dict(recipes=("dcgan",), seeds=1, budget="3steps", dataset="mnist5k", sets=TINY)
    return StudySpec(**{**base, "eval_n": 200, "allow_small": True, **kw})


# ---------------------------------------------------------------------------------- budgets
@pytest.mark.parametrize(
    ("text", "kind", "amount"),
    [
        ("10m", "minutes", 10.0),
        ("90s", "minutes", 1.5),
        ("1.5h", "minutes", 90.0),
        ("2000steps", "steps", 2000.0),
        ("1Mimg", "images", 1e6),
        ("500kimg", "images", 5e5),
        ("5e13flop", "flops", 5e13),
        ("50Tflops", "flops", 5e13),
    ],
)
def test_budget_parsing(text, kind, amount):
    budget = parse_budget(text)
    assert (budget.kind, budget.amount, budget.text) == (kind, pytest.approx(amount), text)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("100", "a number and a unit"),
        ("10parsecs", "unknown unit 'parsecs'"),
        ("0steps", "must be > 0"),
        ("2.5steps", "whole number"),
        ("fast", "a number and a unit"),
    ],
)
def test_budget_errors_are_one_line(text, why):
    with pytest.raises(GanforgeError, match=why) as exc:
        parse_budget(text)
    assert "\n" not in str(exc.value) and str(exc.value).startswith(f"bad --budget '{text}'")


def test_budget_becomes_steps_or_minutes():
    assert budget_overrides(parse_budget("10m"), 5, 64, 1) == {"minutes": 10.0}
    assert budget_overrides(parse_budget("300steps"), 5, 64, 1) == {"steps": 300}
    # images shown to D: batch x d_steps per step, rounded down
    assert budget_overrides(parse_budget("1000img"), 5, 64, 5) == {"steps": 3}
    assert budget_overrides(parse_budget("1e10flop"), 3_000_000_000, 64, 1) == {"steps": 3}
    assert budget_overrides(parse_budget("1flop"), 3_000_000_000, 64, 1) == {"steps": 1}


def test_flops_counted_per_step_and_charge_critic_steps(tmp_path):
    small = {"dataset": "mnist5k", **TINY}
    one = count_step_flops(api.train, "dcgan", {**small, "d_steps": 1}, tmp_path / "a")
    five = count_step_flops(api.train, "dcgan", {**small, "d_steps": 5}, tmp_path / "b")
    assert one > 1e6  # a DCGAN step is millions of multiply-adds even at width 8
    # 5 D updates (each with a G forward for its fakes) and one G update: about 4x the work
    assert 3 * one < five < 6 * one
    gp = count_step_flops(api.train, "wgan-gp", {**small, "d_steps": 1}, tmp_path / "c")
    assert gp > one  # the penalty's double backward counts
    assert not (tmp_path / "a").exists()  # the counting runs are removed


# ----------------------------------------------------------------------- sampled settings
def test_settings_are_fixed_wide_and_only_keys_that_act():
    cfg = get_recipe("wgan-gp").config()
    first = sample_settings(cfg, 8)
    assert first == sample_settings(cfg, 8) and first[:3] == sample_settings(cfg, 3)
    lrs = [s["lr_g"] for s in first]
    assert all(1e-5 <= lr <= 1e-2 for lr in lrs) and max(lrs) / min(lrs) > 10
    assert all(s["lr_g"] == s["lr_d"] and 0 <= s["beta1"] <= 0.9 for s in first)
    assert {s["d_steps"] for s in first} <= set(D_STEPS)
    assert {s["batch_size"] for s in first} <= set(BATCH_SIZES)
    assert all(0.1 <= s["penalty_weight"] <= 100 for s in first)
    wgan = sample_settings(get_recipe("wgan").config(), 4)  # RMSProp: beta1 would not act
    assert all("beta1" not in s and "penalty_weight" not in s for s in wgan)
    for s in first + wgan:  # every setting is a valid config of its recipe
        get_recipe("wgan-gp" if "penalty_weight" in s else "wgan").config(**s)
    assert sample_settings(get_recipe("dcgan").config(), 3) != sample_settings(cfg, 3)


def test_best_of_n_is_the_exact_expected_minimum():
    assert best_of_n([3.0, 1.0, 2.0]) == pytest.approx([2.0, 4 / 3, 1.0])
    assert best_of_n([3.0, 1.0, 2.0], lower=False) == pytest.approx([2.0, 8 / 3, 3.0])


# ------------------------------------------------------------------------------- shards
def test_a_bad_shard_is_refused_before_the_study_folder_is_written(tmp_path):
    out = tmp_path / "study"
    with pytest.raises(GanforgeError, match="bad --shard 2/2"):
        run_study(_spec(), out, Backend(api.train, api.resume, api.evaluate), shard=(2, 2))
    assert not out.exists()


def test_shards_partition_the_cells():
    spec = _spec(recipes=("dcgan", "wgan-gp", "lsgan"), seeds=3, sample_hparams=2)
    cells = plan_cells(spec)
    assert len(cells) == 18 and len({c.name for c in cells}) == 18
    assert cells[0].name == "dcgan-h00-s0" and cells[-1].name == "lsgan-h01-s2"
    for n in (1, 4, 7, 18, 25):
        shares = [shard_cells(cells, i, n) for i in range(n)]
        names = [c.name for share in shares for c in share]
        assert sorted(names) == sorted(c.name for c in cells)  # all, each exactly once
    with pytest.raises(GanforgeError, match="bad --shard 4/4"):
        shard_cells(cells, 4, 4)


# ------------------------------------------------------------------------------- claims
HOLD = """
import sys, time
from pathlib import Path
from ganforge.study.cells import Cell, claim
with claim(Path(sys.argv[1]), Cell("dcgan", 0)) as mine:
    print("held" if mine else "refused", flush=True)
    time.sleep(60)
"""


def test_claims_are_exclusive_across_processes_and_die_with_their_holder(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], env=env(), stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        with claim(tmp_path, Cell("dcgan", 0)) as mine:
            assert mine is False
        with claim(tmp_path, Cell("dcgan", 1)) as other:
            assert other is True  # another cell is free
    finally:
        proc.kill()  # SIGKILL: the kernel drops the flock
        proc.wait()
    with claim(tmp_path, Cell("dcgan", 0)) as mine:
        assert mine is True


# ------------------------------------------------------------------------- a real study
@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """2 recipes x 2 seeds x 3 steps on mnist5k, in 2 worker processes."""
    out = tmp_path_factory.mktemp("study") / "tiny"
    args = ["study", "--recipes", "dcgan,lsgan", "--seeds", "2", "--budget", "3steps"]
    args += ["--out", str(out), "--metrics", "fid,kid", "--workers", "2", *SMALL_EVAL, *TINY_ARGS]
    done = subprocess.run(
        [sys.executable, "-m", "ganforge", *args], env=env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return out, done.stdout


def test_study_writes_cells_jsonl_markdown_and_page(study):
    out, stdout = study
    lines = [json.loads(ln) for ln in (out / "study.jsonl").read_text().splitlines()]
    assert [r["cell"] for r in lines] == ["dcgan-s0", "dcgan-s1", "lsgan-s0", "lsgan-s1"]
    for r in lines:
        assert r["status"] == "finished" and r["steps"] == 3 and r["images"] == 48
        assert r["budget"] == {"kind": "steps", "amount": 3.0, "text": "3steps", "steps": 3}
        assert r["flops"] == 3 * r["flops_per_step"] > 0 and r["wall_seconds"] > 0
        assert set(r["metrics"]) == {"fid", "kid"} and r["metrics"]["fid"] > 0
        assert (
            r["config"]["threads"] == max(1, available_cores() // 2)
            and r["config"]["seed"] == r["seed"]
        )
        assert (out / r["run"] / "checkpoints" / "step-000003.safetensors").is_file()
    assert lines[0]["config"]["loss"] == "non-saturating" and lines[2]["config"]["loss"] == (
        "least-squares"
    )
    md = (out / "study.md").read_text()
    assert re.search(r"^\| dcgan \| 2 \| [\d.]+ \[[\d.]+, [\d.]+\] \|", md, re.M)
    assert "| lsgan | 2 |" in md and "best run (fid)" in md
    assert "| dcgan | 2 |" in stdout and f"wrote {out / 'study.html'}" in stdout
    page = (out / "study.html").read_text()
    assert page.count("<svg") == 1 and page.count('<img src="data:image/png;base64,') == 2
    assert 'src="http' not in page and "--sample-hparams N" in page


def test_rerun_of_a_finished_study_does_nothing(study, cli):
    out, _ = study
    before = {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("*") if p.is_file()}
    rc, stdout, err = cli(
        "study", "--recipes", "dcgan,lsgan", "--seeds", "2", "--budget", "3steps", "--out", out,
        "--metrics", "fid,kid", *SMALL_EVAL, *TINY_ARGS,
    )  # fmt: skip
    assert rc == 0 and "4 cell(s) in share 0/1, 0 to run" in err
    assert "starts" not in err and "| lsgan | 2 |" in stdout
    after = {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("*") if p.is_file()}
    assert after == before


def test_summary_prints_the_table(study, cli):
    out, _ = study
    rc, stdout, err = cli("study", "--summary", out)
    assert rc == 0 and err == ""
    assert stdout.splitlines()[0].startswith("| recipe | cells | fid median [Q1, Q3] |")
    assert len(stdout.strip().splitlines()) == 4  # head, rule, 2 recipes
    rc, _, err = cli("study", "--summary", out / "runs")
    assert (
        rc == 2
        and err.strip() == f"ganforge: error: {out / 'runs'} is not a study folder (no spec.json)"
    )


def test_a_changed_spec_is_refused(study, cli):
    out, _ = study
    rc, _, err = cli(
        "study", "--recipes", "dcgan,lsgan", "--seeds", "2", "--budget", "4steps", "--out", out,
        "--metrics", "fid,kid", *SMALL_EVAL, *TINY_ARGS,
    )  # fmt: skip
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "holds a study with a different spec (budget: '3steps' there, '4steps' here)" in err


@pytest.mark.skipif(find_chromium() is None, reason="chromium binary not installed")
def test_study_page_in_headless_chromium(study, tmp_path):
    out, _ = study
    (result,) = check_pages([(out / "study.html", tmp_path / "study.png")])
    assert result.images == 2 and result.images_loaded == 2, result.problems
    assert result.external_requests == [] and result.problems == []


# ------------------------------------------------------------------- refusals and crashes
def test_refusals_name_the_fix():
    with pytest.raises(GanforgeError, match="metric cas needs class-conditional recipes"):
        _spec(metrics=("fid", "cas")).validate()
    _spec(recipes=("cgan",), metrics=("fid", "cas")).validate()  # conditional: accepted
    with pytest.raises(GanforgeError, match=r"--set steps=\.\.\. is set by the study"):
        _spec(sets={"steps": "5"}).validate()
    with pytest.raises(GanforgeError, match="conflicts with --sample-hparams"):
        _spec(sets={"lr_g": "1e-3"}, sample_hparams=2).validate()
    with pytest.raises(GanforgeError, match="image-to-image game"):
        _spec(recipes=("pix2pix",)).validate()
    with pytest.raises(GanforgeError, match="too biased"):
        _spec(allow_small=False).validate()


def test_spec_saved_once_and_compared(tmp_path):
    save_or_check(_spec(), tmp_path)
    save_or_check(_spec(), tmp_path)  # the same spec continues
    with pytest.raises(GanforgeError, match=r"\(seeds: 1 there, 2 here\)"):
        save_or_check(_spec(seeds=2), tmp_path)


CALLS: list[str] = []


def _flaky_train(recipe, out, **kw):
    """Crashes the first time a cell trains (not while FLOPs are counted)."""
    if "runs" in Path(out).parts and not CALLS:
        CALLS.append(str(out))
        raise RuntimeError("worker lost its GPU")
    return api.train(recipe, out, **kw)


def _broken_eval(run, **kw):
    raise GanforgeError("no shipped feature extractor for dataset 'x'")


def _quick_eval(run, **kw):
    return {"fid": 1.5}


def test_crash_is_retried_once_then_failed(tmp_path):
    CALLS.clear()
    spec = _spec(seeds=2)
    save_or_check(spec, tmp_path)
    cell = Cell("dcgan", 0)
    record = run_cell(tmp_path, spec, cell, Backend(_flaky_train, api.resume, _quick_eval))
    assert CALLS and record["status"] == "finished" and record["attempts"] == 2
    assert record["metrics"] == {"fid": 1.5} and record["error"] is None
    logs: list[str] = []
    other = Cell("dcgan", 1)
    record = run_cell(
        tmp_path, spec, other, Backend(api.train, api.resume, _broken_eval), log=logs.append
    )
    assert record["status"] == "failed" and record["attempts"] == 2
    assert record["error"] == "no shipped feature extractor for dataset 'x'"
    assert logs == [
        "study: dcgan-s1 crashed (attempt 1): no shipped feature extractor for dataset 'x'",
        "study: dcgan-s1 failed (attempt 2): no shipped feature extractor for dataset 'x'",
    ]
    # a failed cell is recorded and not run again
    summary = run_study(
        spec, tmp_path, Backend(api.train, api.resume, _broken_eval), log=logs.append
    )
    assert "0 to run" in logs[-1]
    assert summary["recipes"]["dcgan"]["failed"] == 1
    assert "no shipped feature extractor" in (tmp_path / "study.md").read_text()


def test_cell_resumes_after_sigkill_of_the_study(tmp_path, cli):
    """The study process is killed (kill -9) mid-cell; the rerun resumes the cell from its
    checkpoint and ends with the weights of an uninterrupted run."""
    args = ["study", "--recipes", "dcgan", "--seeds", "1", "--budget", "100steps"]
    args += ["--metrics", "fid", *SMALL_EVAL, *TINY_ARGS, "--set", "checkpoint_every=10"]
    args += ["--set", "sample_every=1000", "--set", "log_every=1000", "--set", "threads=1"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ganforge", *args, "--out", str(killed)],
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ckpts = killed / "runs" / "dcgan-s0" / "checkpoints"
    deadline = time.monotonic() + 120
    while not list(ckpts.glob("step-*.safetensors")) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    first = sorted(ckpts.glob("step-*.safetensors"))
    assert first and first[-1].name != "step-000100.safetensors", "killed too late"
    assert not (killed / "cells" / "dcgan-s0.json").exists()
    done = subprocess.run(
        [sys.executable, "-m", "ganforge", *args, "--out", str(killed)],
        env=env(),
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads((killed / "study.jsonl").read_text())
    assert record["status"] == "finished" and record["steps"] == 100
    assert 10 <= record["resumed_from"] < 100 and record["resumed_from"] % 10 == 0
    straight = tmp_path / "straight"  # the same study, uninterrupted (in this process)
    assert cli(*args, "--out", straight)[0] == 0
    a = load_file(killed / "runs/dcgan-s0/checkpoints/step-000100.safetensors")
    b = load_file(straight / "runs/dcgan-s0/checkpoints/step-000100.safetensors")
    assert a.keys() == b.keys() and all(a[k].equal(b[k]) for k in a)
