"""Fréchet distance during training (called by ``Trainer._evaluate`` every ``eval_every`` steps).

FD of ``cfg.eval_samples`` samples (default 2,048) from the trainer's sampler (EMA if enabled,
in eval mode) against the cached statistics of the dataset's TEST split under the shipped
extractor. The samples come from fixed inputs (seed 12345), so successive values differ only
through the generator. Datasets without a shipped extractor, or images of another shape, give {}.
"""

from __future__ import annotations

from typing import Any

import torch

from ganforge.metrics.evaluate import load_feature_extractor, reference
from ganforge.metrics.features import extractor_for_dataset
from ganforge.metrics.frechet import frechet_distance

EVAL_SEED = 12345


@torch.no_grad()
def evaluate_generator(trainer: Any, batch_size: int = 500) -> dict[str, float]:
    """{"fid": FD of the current generator} or {} where no extractor fits the data."""
    cfg = trainer.cfg
    name = extractor_for_dataset(cfg.dataset)
    if name is None or cfg.image_size not in (0, 28) or cfg.channels not in (0, 1):
        return {}
    extractor = load_feature_extractor(name)
    G = trainer.sampler()
    n = int(cfg.eval_samples)
    feats = []
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        inputs = trainer.game.fixed_inputs(m, EVAL_SEED + start, trainer.device)
        images = trainer.game.render(G, inputs).clamp(-1, 1).float().cpu()
        if tuple(images.shape[1:]) != extractor.input_shape:
            return {}
        feats.append(extractor.features(images))
    ref = reference(cfg.dataset, "test", extractor, cfg.data_dir)
    return {"fid": frechet_distance(ref.stats, torch.cat(feats))}
