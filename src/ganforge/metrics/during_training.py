"""Fréchet distance during training (the Evaluation hook, every ``eval_every`` steps).

FD of ``cfg.eval_samples`` samples (default 2,048) drawn by ``draw(n, seed)`` (the run's
sampler, EMA if enabled, in eval mode) against the cached statistics of the dataset's TEST split
under the shipped extractor (Heusel et al. 2017, with our own features). The samples come from
fixed inputs (seeds from 12345), so successive values differ only through the generator.
Datasets without a shipped extractor, or images of another shape, give {}.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ganforge.config import Config
from ganforge.metrics.evaluate import load_feature_extractor, reference
from ganforge.metrics.features import extractor_for_dataset
from ganforge.metrics.frechet import frechet_distance

EVAL_SEED = 12345

Draw = Callable[[int, int], torch.Tensor]  # (n, seed) -> n images in [-1, 1], on the CPU


@torch.no_grad()
def evaluate_generator(cfg: Config, draw: Draw, batch_size: int = 500) -> dict[str, float]:
    """{"fid": FD of the images ``draw`` makes} or {} where no extractor fits the data."""
    name = extractor_for_dataset(cfg.dataset)
    if name is None or cfg.image_size not in (0, 28) or cfg.channels not in (0, 1):
        return {}
    extractor = load_feature_extractor(name)
    n = int(cfg.eval_samples)
    feats = []
    for start in range(0, n, batch_size):
        images = draw(min(batch_size, n - start), EVAL_SEED + start)
        if tuple(images.shape[1:]) != extractor.input_shape:
            return {}
        feats.append(extractor.features(images))
    ref = reference(cfg.dataset, "test", extractor, cfg.data_dir)
    return {"fid": frechet_distance(ref.stats, torch.cat(feats))}
