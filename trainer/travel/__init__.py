"""Runs that travel: a resumable weights-only checkpoint small enough to move between machines (``parts``),
the learning-rate warm-up of a run resumed from it (``warmup``), and ``python -m trainer.travel``."""
