"""Sample-quality metrics on shipped feature extractors: FD, KID, classifier score, precision/recall,
density/coverage, conditional accuracy and a memorisation check (see docs/metrics.md)."""
