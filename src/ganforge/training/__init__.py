"""Training: the generic loop, checkpoints, EMA, precision and distributed set-up."""
