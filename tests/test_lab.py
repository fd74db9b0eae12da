"""Theory lab: the key numbers of each experiment (small budgets)."""

from __future__ import annotations

import json
import math

import pytest

from ganforge.lab import js_vs_w, run_experiment, vanishing


def test_optimal_d_matches_d_star(tmp_path):
    res = run_experiment("optimal-d", tmp_path, steps=400)
    assert res["max_abs_error_bulk"] < 0.05
    assert (tmp_path / "optimal_d.png").stat().st_size > 1000
    assert json.loads((tmp_path / "result.json").read_text())["experiment"] == "optimal-d"


def test_js_flat_while_w_tracks_theta(tmp_path):
    res = js_vs_w.run(tmp_path, steps=150, thetas=[-1.0, 0.0, 0.5, 1.0])
    assert res["w_corr_abs_theta"] > 0.95
    assert res["js_off_zero_min"] > math.log(2) - 0.05  # flat at log 2 off theta = 0 ...
    assert res["js_off_zero_max"] - res["js_off_zero_min"] < 0.05  # ... whatever |theta| is
    assert abs(res["js_estimate"][1]) < 0.05  # and ~0 at theta = 0
    for t, w in zip(res["theta"], res["w_estimate"], strict=True):
        assert w == pytest.approx(abs(t), abs=0.15)


def test_vanishing_gradient_ordering(tmp_path):
    res = vanishing.run(tmp_path, steps=150)
    final = res["final"]
    assert res["minimax_decay"] < 0.2  # minimax gradient dies as D learns
    assert final["minimax"] < final["wasserstein"] < final["non-saturating"]
    assert (tmp_path / "vanishing_gradients.png").exists()


def test_lab_cli_mode_collapse_and_errors(cli, tmp_path):
    rc, out, err = cli("lab", "mode-collapse", "--steps", "10", "--out", tmp_path, "--json")
    assert rc == 0, err
    res = json.loads(out.strip().splitlines()[-1])
    assert res["recipes"] == ["dcgan", "gan"] and len(res["gan"]["snapshot_modes"]) == 6
    assert (tmp_path / "mode_collapse.png").stat().st_size > 1000
    rc, _, err = cli("lab", "nope")
    assert rc == 2 and "invalid choice" in err
    # the folder now holds a result: refused without --force, replaced with it
    args = ("lab", "mode-collapse", "--steps", "10", "--out", tmp_path)
    rc, _, err = cli(*args)
    assert rc == 2 and "exists and is not empty" in err and "Traceback" not in err
    rc, _, err = cli(*args, "--force")
    assert rc == 0, err
