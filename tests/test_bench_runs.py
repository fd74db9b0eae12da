"""benchmarks/bench_runs.py: benchmark runs survive stops (a finished run is kept, an
interrupted one resumes for the time it has left, scored items are kept in the JSON)."""

from __future__ import annotations

import json

import pytest

from ganforge import api
from robust_util import load_script, tiny_folder

bench_runs = load_script("bench_runs", "benchmarks")
SMALL = {"g_width": 8, "d_width": 8, "batch_size": 16, "report": False, "image_size": 8}


def _data(tmp_path) -> str:
    return f"folder:{tiny_folder(tmp_path / 'data')}"


def test_a_finished_run_is_kept_and_not_trained_again(tmp_path):
    run = tmp_path / "r"
    facts = bench_runs.train_for("gan", run, steps=2, dataset=_data(tmp_path), **SMALL)
    assert facts["status"] == "finished" and facts["steps"] == 2
    before = sorted(p.stat().st_mtime_ns for p in (run / "checkpoints").iterdir())
    again = bench_runs.train_for("gan", run, steps=5, dataset=_data(tmp_path), **SMALL)
    assert again["steps"] == 2
    assert sorted(p.stat().st_mtime_ns for p in (run / "checkpoints").iterdir()) == before


def test_an_interrupted_run_resumes_for_the_minutes_it_has_left(tmp_path, monkeypatch):
    run = tmp_path / "r"
    api.train("gan", run, steps=2, dataset=_data(tmp_path), **SMALL)
    facts = json.loads((run / "run.json").read_text())
    facts.update(status="interrupted", wall_seconds=90.0)
    (run / "run.json").write_text(json.dumps(facts))
    asked = {}
    monkeypatch.setattr(bench_runs.api, "resume", lambda r, **kw: asked.update(kw))
    bench_runs.train_for("gan", run, minutes=2.0)
    assert asked == {"minutes": pytest.approx(0.5)}
    bench_runs.train_for("gan", run, minutes=1.0)  # time used up: a token second
    assert asked == {"minutes": pytest.approx(1 / 60)}


def test_results_are_written_after_every_item_and_read_back(tmp_path):
    path = tmp_path / "bench.json"
    results = bench_runs.Results(path)
    results.put("a", {"fd": 1.5})
    assert json.loads(path.read_text()) == {"a": {"fd": 1.5}}
    again = bench_runs.Results(path)
    assert "a" in again and again["a"] == {"fd": 1.5} and "b" not in again
    assert "a" not in bench_runs.Results(path, fresh=True)


def test_stargan_benchmark_names_kept_settings_and_departures_from_the_paper(tmp_path):
    """benchmarks/stargan.py never reuses a finished run trained with other settings: it names
    each differing key so the user can pick another --runs."""
    stargan_bench = load_script("stargan", "benchmarks")
    run = tmp_path / "stargan-fmnist-tops"
    assert stargan_bench.settings_clash(run, {"d_width": 64}) == ""  # no run yet
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"d_width": 32, "g_width": 32}))
    assert stargan_bench.settings_clash(run, {"d_width": 32, "g_width": 32}) == ""
    clash = stargan_bench.settings_clash(run, {"d_width": 64, "g_width": 32, "new_key": 1})
    assert clash == "d_width=32 (asked 64)"
    # a task run beyond the CPU size says so on the page, and names the screen that chose it
    assert stargan_bench.departures({"g_width": 32, "d_width": 32}) == []
    lines = stargan_bench.departures({"g_width": 32, "stargan_cls_weight": 3.0})
    assert '{"stargan_cls_weight": 3.0}' in lines[0] and "stargan-screen.md" in lines[0]


def test_stargan_benchmark_types_its_settings_and_refuses_bad_ones():
    """--set strings become the config's types, so a stored task run with d_width=64 is the
    same setting asked again as '64' (it once compared '64' with 64 and would have re-run)."""
    stargan_bench = load_script("stargan", "benchmarks")
    typed = stargan_bench.typed_settings({"d_width": "64", "stargan_cls_weight": "3"})
    assert typed == {"d_width": 64, "stargan_cls_weight": 3.0}
    with pytest.raises(SystemExit, match="bad --set: bad value 'abc' for 'd_width'"):
        stargan_bench.typed_settings({"d_width": "abc"})
