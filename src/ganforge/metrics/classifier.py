"""Metrics read from the feature classifier's predictions.

Classifier score (the Inception Score of Salimans et al. 2016 with our classifier in place of
Inception-v3): IS = exp(E_x KL(p(y|x) || p(y))), p(y) the mean prediction over the split;
reported as the mean over ``splits`` splits (10, as in the paper) of a fixed random order. It ranges from 1 to the number
of classes (10): high when each sample is confidently one class and all classes occur.

CAS here is the accuracy of the classifier on class-conditional samples against the class that
was requested from the generator (as in the "classification accuracy" check of conditional GANs;
e.g. Odena et al. 2017 for AC-GAN). Real class-balanced test data scores the classifier's own test
accuracy, the ceiling.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def classifier_score(logits: Any, splits: int = 10) -> tuple[float, float]:
    """IS analogue (mean, std over splits) from (N, K) logits; softmax in float64."""
    lg = torch.as_tensor(logits).double()
    # splits of a random (fixed-seed) order: class-sorted inputs must not give one class a split
    lg = lg[torch.randperm(lg.shape[0], generator=torch.Generator().manual_seed(0))]
    p = torch.softmax(lg, dim=1)
    logp = torch.log_softmax(lg, dim=1)
    splits = max(1, min(splits, p.shape[0]))
    scores = []
    for part_p, part_logp in zip(p.chunk(splits), logp.chunk(splits), strict=True):
        py = part_p.mean(0, keepdim=True)
        kl = (part_p * (part_logp - torch.log(py.clamp_min(1e-300)))).sum(1).mean()
        scores.append(float(torch.exp(kl)))
    return float(np.mean(scores)), float(np.std(scores))


def class_accuracy(logits: Any, requested: Any) -> float:
    """Share of samples the classifier assigns to the requested class."""
    lg = torch.as_tensor(logits)
    y = torch.as_tensor(requested).long()
    if lg.shape[0] != y.shape[0]:
        raise ValueError(f"{lg.shape[0]} samples but {y.shape[0]} requested labels")
    return float((lg.argmax(1) == y).float().mean())
