"""A trained run loaded for use: its config, game and sampling generator (EMA if present).

:func:`load_run` reads a run folder's latest (or best) checkpoint; :class:`LoadedRun` draws
samples from it, optionally through discriminator rejection sampling (Azadi et al. 2019,
"Discriminator Rejection Sampling", arXiv:1810.06758). Metrics and views receive a LoadedRun;
they never load runs themselves (the API does).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from ganforge.config import Config
from ganforge.errors import CheckpointError, GanforgeError
from ganforge.games import Game, build_game
from ganforge.rejection import rejection_sample
from ganforge.run_dir import check_run, read_json
from ganforge.training import checkpoint as ckpt
from ganforge.training.device import resolve_device


@dataclass
class LoadedRun:
    """A trained run: its config, game and the generator used for sampling (EMA if present)."""

    path: Path
    cfg: Config
    game: Game
    G: torch.nn.Module
    step: int
    device: torch.device

    @property
    def uses_rejection(self) -> bool:
        """Whether :meth:`sample` filters G through D by default (run trained with
        rejection=drs)."""
        return self.cfg.rejection == "drs"

    def sample(
        self,
        n: int = 64,
        seed: int = 0,
        classes: list[int] | None = None,
        codes: dict[int, float] | None = None,
        batch_size: int = 500,
        rejection: bool | None = None,
    ) -> torch.Tensor:
        """``n`` samples (N, C, H, W) in [-1, 1] on the CPU, G in eval mode.

        For a run trained with ``rejection=drs`` (and unless ``rejection=False``) G's samples
        are filtered by discriminator rejection sampling with the run's D (``rejection.py``;
        M from a burn-in of 10,000 proposals, as in Azadi et al. 2019).
        """
        if rejection is None:
            rejection = self.uses_rejection
        if not rejection:
            return self._draw(n, seed, classes, codes, batch_size)
        if classes or codes:
            raise GanforgeError(
                "rejection sampling draws unconditional samples: drop --class/--code"
            )
        samples, _ = rejection_sample(
            lambda k, s: self._draw(k, s, None, None, batch_size),
            lambda x: self.game.critic(x.to(self.device))[0],  # made double/CPU there
            n,
            seed,
            batch=batch_size,
            beta=self.cfg.drs_beta,
            burn_in=10_000,
        )
        return samples

    def _draw(self, n, seed, classes, codes, batch_size) -> torch.Tensor:
        chunks = list(self.iter_samples(n, seed, classes, codes, batch_size))
        return torch.cat(chunks) if chunks else torch.empty(0)

    @torch.no_grad()
    def iter_samples(
        self,
        n: int,
        seed: int = 0,
        classes: list[int] | None = None,
        codes: dict[int, float] | None = None,
        batch_size: int = 500,
    ) -> Iterator[torch.Tensor]:
        """G's own samples (no rejection) in chunks of ``batch_size`` on the CPU, so a caller
        can stream any ``n`` to a file; concatenated they equal :meth:`sample` with
        ``rejection=False`` and the same ``batch_size``."""
        for start in range(0, n, batch_size):
            m = min(batch_size, n - start)
            inputs = self.game.fixed_inputs(
                m, seed * 1_000_003 + start, self.device, classes=classes, codes=codes
            )
            if classes and "y" in inputs:  # cycle the classes over the whole sample
                k = len(classes)
                inputs["y"] = torch.tensor(
                    [classes[(start + i) % k] for i in range(m)], device=self.device
                )
            yield self.game.render(self.G, inputs).clamp(-1, 1).cpu()


def mismatch(exc: Exception) -> str:
    """The first concrete difference in a ``load_state_dict`` error, whole: torch's first line
    ("Error(s) in loading state_dict for X:") only announces the list."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    detail = [ln for ln in lines if ln.startswith(("size mismatch", "Missing", "Unexpected"))]
    text = (detail[0] if detail else lines[-1] if lines else type(exc).__name__).rstrip(".")
    more = len(detail) - 1
    return text + (f"; and {more} more difference(s)" if more > 0 else "")


def load_run(run: str | Path, device: str = "auto", which: str = "latest") -> LoadedRun:
    """Load a run directory's latest (or ``best``) checkpoint for sampling and evaluation;
    ``which="best"`` without a best checkpoint is refused."""
    run = check_run(Path(run))
    cfg = Config.from_dict(read_json(run / "config.json"))
    if which == "best":  # never silently the latest instead
        path = run / "checkpoints" / "best.safetensors"
        if not path.is_file():
            raise CheckpointError(
                f"{run} has no best checkpoint (checkpoints/best.safetensors is kept only by "
                "runs trained with eval_every > 0); drop --best to use the latest"
            )
    else:
        path = ckpt.latest_checkpoint(run / "checkpoints")
    if path is None:
        damaged = len(ckpt.checkpoint_files(run / "checkpoints"))
        why = (
            f"skipped {damaged} damaged file(s) in checkpoints/ (named above)"
            if damaged
            else "checkpoints/ holds no step-*.safetensors"
        )
        raise CheckpointError(f"{run} has no loadable checkpoint: {why}")
    state = ckpt.load_checkpoint(path)
    dev = resolve_device(device)
    info = state["game"]
    torch.manual_seed(0)
    game = build_game(cfg, tuple(info["data_shape"]), info.get("num_classes", 0)).to(dev)
    if game.describe() != info:
        raise CheckpointError(f"{path} does not match its run's config.json (game differs)")
    weights = state["ema"] if state.get("ema") else state["models"]["G"]
    try:
        game.G.load_state_dict(weights)
        game.D.load_state_dict(state["models"]["D"])
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path} does not fit its config.json ({mismatch(exc)}); was config.json edited?"
        ) from None
    game.load_extra_state(state.get("game_state") or {})  # e.g. progan's stage of growth
    game.eval()
    return LoadedRun(run, cfg, game, game.G, int(state["step"]), dev)
