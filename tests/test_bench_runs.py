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


def test_a_kept_run_trained_with_other_settings_is_refused_not_reused(tmp_path):
    """train_for never keeps, resumes or overwrites a run trained with other settings (it once
    kept any finished run, so a bf16 measurement would have scored the fp32 run): it names each
    differing key; keys the config resolves (threads, "auto") are not compared."""
    run = tmp_path / "r"
    assert bench_runs.settings_clash(run, {"d_width": 64}) == ""  # no run yet
    fp32 = dict(SMALL, precision="fp32")
    facts = bench_runs.train_for("gan", run, steps=2, dataset=_data(tmp_path), **fp32)
    assert facts["steps"] == 2
    same = dict(SMALL, threads=1, precision="auto")
    assert bench_runs.train_for("gan", run, steps=2, dataset=_data(tmp_path), **same) == facts
    assert bench_runs.settings_clash(run, {"g_width": 8, "new_key": 1}) == ""
    before = (run / "config.json").read_text()
    with pytest.raises(SystemExit, match=r"r was trained with d_width=8 \(asked 16\), "
                       r"precision=fp32 \(asked bf16\): pass another --runs folder"):  # fmt: skip
        bench_runs.train_for("gan", run, steps=2, **dict(SMALL, d_width=16, precision="bf16"))
    assert (run / "config.json").read_text() == before


def test_stargan_benchmark_names_departures_from_the_paper():
    stargan_bench = load_script("stargan", "benchmarks")
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


def test_bf16_benchmark_ratio_is_bf16_over_fp32_medians_per_budget():
    bf16 = load_script("bf16_quality", "benchmarks")
    rows = [
        {"precision": "fp32", "minutes": 3.0, "fd": 10.0, "steps": 100},
        {"precision": "fp32", "minutes": 3.0, "fd": 12.0, "steps": 120},
        {"precision": "fp32", "minutes": 3.0, "fd": 14.0, "steps": 110},
        {"precision": "bf16", "minutes": 3.0, "fd": 9.0, "steps": 150},
        {"precision": "fp32", "minutes": 10.0, "fd": 5.0, "steps": 400},
    ]
    lines, ratios = bf16.cpu_table(rows, [3.0, 10.0])
    assert ratios == [(3.0, pytest.approx(0.75))]  # 9 / median(10, 12, 14); 10 min has no bf16 yet
    assert (
        lines[2]
        == "| 3 | 12.00 [10.00, 14.00] (n=3) | 9.00 [9.00, 9.00] (n=1) | 0.75 | 110 | 150 |"
    )
    assert lines[3] == "| 10 | 5.00 [5.00, 5.00] (n=1) | — | — | 400 | — |"
