"""Sample-quality metrics on shipped feature extractors: FD, KID, classifier score, precision/recall,
density/coverage, conditional accuracy, a memorisation check (see docs/metrics.md), and the toy
mode-coverage metrics."""
