"""The study spec: what a study is (recipes, seeds, settings, budget, data, metrics, extra
config), saved once as ``STUDY/spec.json``. Re-running a study continues it only with the same
spec; any difference is refused, naming the first differing field, so that one folder never
mixes cells trained or scored differently. Workers, shards and threads are not part of it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ganforge.config import IDLE_UNLESS, Config
from ganforge.errors import GanforgeError
from ganforge.recipes import get_recipe
from ganforge.run_dir import file_mode, read_json
from ganforge.study.budget import DEFAULT_BUDGET, parse_budget
from ganforge.study.hparams import SAMPLED_KEYS, STUDY_SEED

METRICS = ("fid", "kid", "pr", "cas")
# keys the study itself sets: --set may not give them
OWN_KEYS = {
    "steps": "--budget",
    "epochs": "--budget",
    "minutes": "--budget",
    "seed": "--seeds",
    "dataset": "--dataset",
    "recipe": "--recipes",
}
SPEC_NAME = "spec.json"


@dataclass(frozen=True)
class StudySpec:
    """One study. ``sample_hparams`` = 0 trains each recipe's own setting only."""

    recipes: tuple[str, ...]
    seeds: int = 3
    budget: str = DEFAULT_BUDGET
    dataset: str = "fashion-mnist"
    metrics: tuple[str, ...] = ("fid",)
    sets: dict[str, Any] = field(default_factory=dict)
    sample_hparams: int = 0
    eval_n: int = 10_000
    allow_small: bool = False
    study_seed: int = STUDY_SEED

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["recipes"], data["metrics"] = list(self.recipes), list(self.metrics)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudySpec:
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.items() if k in known}
        kw["recipes"], kw["metrics"] = tuple(kw["recipes"]), tuple(kw.get("metrics", ("fid",)))
        return cls(**kw)

    def recipe_config(self, recipe: str) -> Config:
        """The recipe's config with the study's dataset and ``--set`` keys (validated)."""
        return get_recipe(recipe).config(dataset=self.dataset, **self.sets)

    def validate(self) -> None:
        """One-line errors for anything that cannot run, before any training."""
        if not self.recipes:
            raise GanforgeError("--recipes is empty: name one or more, e.g. dcgan,wgan-gp")
        if len(set(self.recipes)) != len(self.recipes):
            raise GanforgeError(f"--recipes {','.join(self.recipes)} names a recipe twice")
        if self.seeds < 1:
            raise GanforgeError(f"bad --seeds {self.seeds}: must be at least 1")
        if self.sample_hparams < 0:
            raise GanforgeError(f"bad --sample-hparams {self.sample_hparams}: must be >= 0")
        if self.eval_n < 2:
            raise GanforgeError(f"bad --eval-n {self.eval_n}: must be at least 2")
        if self.eval_n < 2048 and "fid" in self.metrics and not self.allow_small:
            raise GanforgeError(
                f"FD on --eval-n {self.eval_n} < 2048 samples is too biased to compare: raise "
                "--eval-n or pass --allow-small"
            )
        parse_budget(self.budget)
        bad = [m for m in self.metrics if m not in METRICS]
        if bad or not self.metrics:
            raise GanforgeError(
                f"unknown study metric {bad[0] if bad else ''!r}: choose from {','.join(METRICS)}"
            )
        for key in self.sets:
            if key in OWN_KEYS:
                raise GanforgeError(f"--set {key}=... is set by the study: use {OWN_KEYS[key]}")
            if self.sample_hparams and key in SAMPLED_KEYS:
                raise GanforgeError(
                    f"--set {key}=... conflicts with --sample-hparams, which draws {key}"
                )
        for recipe in self.recipes:
            cfg = self.recipe_config(recipe)
            if cfg.game != "adversarial":
                raise GanforgeError(
                    f"recipe {recipe} is an image-to-image game ({cfg.game}): a study compares "
                    "image generators; drop it from --recipes"
                )
            if "cas" in self.metrics and not takes_labels(cfg):
                raise GanforgeError(
                    f"metric cas needs class-conditional recipes and {recipe} is not one: drop "
                    "cas from --metrics or the recipe from --recipes"
                )


def takes_labels(cfg: Config) -> bool:
    """Whether G draws class labels (cas can score it): the config's own rule for when
    ``num_classes`` acts, so there is no second list of conditioning schemes."""
    return bool(IDLE_UNLESS["num_classes"][0](cfg))


def save_or_check(spec: StudySpec, out: Path) -> None:
    """Write ``out/spec.json`` if the study is new (exclusively: of two shards starting at
    once, one writes and the other compares), else refuse a spec that differs from it."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / SPEC_NAME
    text = json.dumps(spec.to_dict(), indent=2, sort_keys=True) + "\n"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=out, prefix=".spec.", suffix=".tmp")
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        try:
            os.link(tmp, path)  # atomic and exclusive: fails if another shard was first
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    saved = read_json(path)
    mine = json.loads(text)
    for key in sorted(set(saved) | set(mine)):
        if saved.get(key) != mine.get(key):
            raise GanforgeError(
                f"{out} holds a study with a different spec ({key}: {saved.get(key)!r} there, "
                f"{mine.get(key)!r} here); rerun with the same options or choose another --out"
            )


def load_spec(out: Path) -> StudySpec:
    """The spec of the study in ``out`` (one-line error when it is not a study folder)."""
    path = Path(out) / SPEC_NAME
    if not path.is_file():
        raise GanforgeError(f"{out} is not a study folder (no {SPEC_NAME})")
    return StudySpec.from_dict(read_json(path))
