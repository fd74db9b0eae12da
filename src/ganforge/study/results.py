"""``STUDY/study.jsonl``: one JSON line per ended cell (finished or failed), in the study's
cell order, with its config, the budget and what it actually used (steps, images, FLOPs, wall
seconds), its metrics, and for a failed cell the first line of its error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ganforge.run_dir import write_atomic
from ganforge.study.cells import DONE, plan_cells, read_record
from ganforge.study.spec import load_spec


def collect_records(study: Path) -> list[dict[str, Any]]:
    """The records of the study's ended cells (all shards'), in plan order."""
    spec = load_spec(study)
    records = (read_record(study, cell) for cell in plan_cells(spec))
    return [r for r in records if r is not None and r.get("status") in DONE]


def write_jsonl(study: Path, records: list[dict[str, Any]]) -> Path:
    """Write ``study.jsonl`` atomically (shards finishing at once never interleave lines)."""
    path = study / "study.jsonl"
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
    write_atomic(path, text.encode(), " (disk full?)")
    return path


def read_jsonl(study: Path) -> list[dict[str, Any]]:
    path = Path(study) / "study.jsonl"
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]
