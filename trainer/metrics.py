"""Scalars to a CSV file (exact floats, one row per logged iteration) and to TensorBoard."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Mapping

from i2i_common.atomic import atomic_open


def read_metrics(path: Path) -> list[dict[str, float]]:
    """Rows of a metrics CSV as dicts of floats (``iteration`` included)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]


class MetricsLog:
    """Appends ``iteration, name...`` rows to ``metrics.csv`` and mirrors them to TensorBoard.

    When a run resumes at iteration N, rows logged after N (by the interrupted run) are dropped first,
    so the CSV holds exactly one history.
    """

    def __init__(self, run: Path, resume_iteration: int, tensorboard: bool = True):
        self.path = Path(run) / "metrics.csv"
        self.fields: list[str] | None = None
        if self.path.exists():
            self._truncate_after(resume_iteration)
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(Path(run) / "tb"), purge_step=resume_iteration + 1)

    def _truncate_after(self, iteration: int) -> None:
        with open(self.path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            self.fields = list(reader.fieldnames or [])
            rows = [r for r in reader if float(r["iteration"]) <= iteration]
        with atomic_open(self.path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, self.fields)
            writer.writeheader()
            writer.writerows(rows)

    def log(self, iteration: int, scalars: Mapping[str, float]) -> None:
        if self.fields is None:
            self.fields = ["iteration", *scalars]
            with open(self.path, "w", newline="", encoding="utf-8") as handle:
                csv.DictWriter(handle, self.fields).writeheader()
        with open(self.path, "a", newline="", encoding="utf-8") as handle:
            csv.DictWriter(handle, self.fields, extrasaction="ignore").writerow(
                {"iteration": iteration, **{k: repr(float(v)) for k, v in scalars.items()}})
        if self.writer is not None:
            for name, value in scalars.items():
                self.writer.add_scalar(name, value, iteration)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
