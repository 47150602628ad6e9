"""The batch-folder queue: jobs persisted in SQLite, an engine that runs them, file scanning rules."""
from __future__ import annotations

from .engine import BatchEngine, Progress
from .guard import OutputOverInputError
from .jobs import ItemState, JobSpec, JobState, JobStyle
from .store import BatchQueue, Item, Job, QueueError, default_queue_path

__all__ = [
    "BatchEngine",
    "BatchQueue",
    "Item",
    "ItemState",
    "Job",
    "JobSpec",
    "JobState",
    "JobStyle",
    "OutputOverInputError",
    "Progress",
    "QueueError",
    "default_queue_path",
]
