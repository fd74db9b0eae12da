"""The API's views of runs: report page, timelapse, latent walks, the runs table, export.

Runs are loaded here (:func:`ganforge.api.load_run`) and handed to the view modules, which
never load runs themselves. The CLI's ``report``, ``timelapse``, ``interpolate``, ``runs`` and
``export`` commands call only these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganforge.api_latent import latent_ends
from ganforge.errors import GanforgeError
from ganforge.export import check_choices, export_generator
from ganforge.pagecheck import PageCheck, check_page
from ganforge.run_dir import check_run
from ganforge.training.loaded_run import load_run
from ganforge.views import interpolate as _walks
from ganforge.views.report import write_report
from ganforge.views.runs import format_table, list_runs
from ganforge.views.timelapse import write_timelapse


def report(run: str | Path, out: str | Path | None = None) -> Path:
    """Write ``run``'s self-contained report page (default RUN/report.html); returns its path."""
    return write_report(run, out)


def check_report(page: str | Path, screenshot: str | Path | None = None) -> PageCheck:
    """Open ``page`` in headless Chromium: images loaded, no request left the machine."""
    return check_page(page, screenshot)


def timelapse(run: str | Path, out: str | Path | None = None, frame_ms: int = 400) -> Path:
    """Write the run's grids over training as a looping GIF (default RUN/timelapse.gif)."""
    return write_timelapse(check_run(run), out, frame_ms=frame_ms)


def gif_frames(path: str | Path) -> int:
    """The number of frames of the GIF at ``path``."""
    from PIL import Image

    with Image.open(path) as im:
        return int(im.n_frames)


def interpolate(
    run: str | Path,
    steps: int = 10,
    mode: str | None = None,
    classes: list[int] | None = None,
    rows: int = 8,
    seed: int = 0,
    out: str | Path | None = None,
    device: str = "auto",
    space: str = "z",
    start: str | Path | None = None,
    end: str | Path | None = None,
) -> tuple[Path, Path]:
    """Latent walks (lerp/slerp, White 2016; lerp in W for style-based runs) or class morphs
    of ``run``'s generator, written as a grid PNG and a GIF; ``start``/``end``: latent files
    (``ganforge project``) to walk between; see :mod:`ganforge.views.interpolate`."""
    loaded = load_run(run, device=device)
    if (start is None) != (end is None):
        raise GanforgeError("--from and --to go together: give both latent files")
    ends = None if start is None else latent_ends(loaded, start, end, space)
    return _walks.interpolate(loaded, steps, mode, classes, rows, seed, out, space, ends)


def runs_table(root: str | Path = "runs", sort: str = "started") -> list[dict[str, Any]]:
    """One row per run folder under ``root``, sorted by ``sort``."""
    return list_runs(root, sort)


def format_runs(rows: list[dict[str, Any]]) -> str:
    """The rows of :func:`runs_table` as an aligned text table."""
    return format_table(rows)


def export(
    run: str | Path,
    fmt: str,
    out: str | Path,
    input_kind: str = "vector",
    device: str = "cpu",
) -> dict[str, Any]:
    """Export ``run``'s generator as TorchScript or ONNX, checked against PyTorch; returns the
    facts (inputs, output, ``max_abs_diff``); see :mod:`ganforge.export`."""
    check_choices(fmt, input_kind)
    return export_generator(load_run(run, device=device), fmt, out, input_kind)
