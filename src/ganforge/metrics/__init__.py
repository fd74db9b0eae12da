"""Sample-quality metrics on shipped feature extractors: FD, KID, classifier score, precision/recall,
density/coverage, conditional accuracy, a memorisation check (see docs/metrics.md), the toy
mode-coverage metrics and the translation scores."""
