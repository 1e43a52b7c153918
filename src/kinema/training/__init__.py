"""Training loops, checkpoints, logging."""
