"""The trainer's family registry: ``[model] family`` of a config -> its :class:`TrainingFamily`, one line each.

Look a family up with :func:`trainer.config.family_class` (a clear error for unknown names).
"""
from __future__ import annotations

from .base import Placement, TrainingFamily
from .munit import MunitFamily
from .tunit import TunitFamily
from .ugatit import UgatitFamily

TRAINING_FAMILIES: dict[str, type[TrainingFamily]] = {
    MunitFamily.name: MunitFamily,
    UgatitFamily.name: UgatitFamily,
    TunitFamily.name: TunitFamily,
}

__all__ = ["TRAINING_FAMILIES", "Placement", "TrainingFamily"]
