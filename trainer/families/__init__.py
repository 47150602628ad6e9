"""Training families by name (the ``[model] family`` of a config). MUNIT is the first entry."""
from __future__ import annotations

from ..config import ConfigError
from .base import Runtime, TrainingFamily
from .munit import MunitFamily

FAMILIES: dict[str, type[TrainingFamily]] = {MunitFamily.name: MunitFamily}


def family_class(name: str) -> type[TrainingFamily]:
    """The family registered as ``name``; a clear error listing the known ones otherwise."""
    if name not in FAMILIES:
        raise ConfigError(f"unknown model family {name!r} (known: {', '.join(sorted(FAMILIES))})")
    return FAMILIES[name]


__all__ = ["FAMILIES", "Runtime", "TrainingFamily", "family_class"]
