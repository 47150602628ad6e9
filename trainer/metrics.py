"""Scalars to a CSV file (exact floats, one row per logged iteration) and to TensorBoard."""
from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

from i2i_common.atomic import atomic_open

# what the loop logs after the family's own values: the first optimizer's learning rate, the speed
LOOP_LOGGED_VALUES = ("lr", "it_per_s")


def read_metrics(path: Path) -> list[dict[str, float]]:
    """Rows of a metrics CSV as dicts of floats (``iteration`` included)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]


class MetricsLog:
    """Appends ``iteration, column...`` rows to ``metrics.csv`` and mirrors them to TensorBoard.

    The columns are declared up front (the family's logged values and the loop's own), so the header is the
    same whatever the first row holds; a value outside them is an error. When a run resumes at iteration N,
    rows logged after N (by the interrupted run) are dropped first, so the CSV holds exactly one history,
    under the header it was started with.
    """

    def __init__(self, run: Path, resume_iteration: int, columns: Sequence[str], tensorboard: bool = True):
        self.path = Path(run) / "metrics.csv"
        self.columns = list(columns)
        self.fields = ["iteration", *self.columns]
        if self.path.exists():
            self._truncate_after(resume_iteration)
        else:
            with open(self.path, "w", newline="", encoding="utf-8") as handle:
                csv.DictWriter(handle, self.fields).writeheader()
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
        """One row: ``scalars`` by column name (a column left out stays empty)."""
        undeclared = sorted(set(scalars) - set(self.columns))
        if undeclared:
            raise ValueError(f"logged values {undeclared} are not among the declared columns {self.columns}")
        with open(self.path, "a", newline="", encoding="utf-8") as handle:
            csv.DictWriter(handle, self.fields, extrasaction="ignore").writerow(
                {"iteration": iteration, **{k: repr(float(v)) for k, v in scalars.items()}})
        if self.writer is not None:
            for name, value in scalars.items():
                self.writer.add_scalar(name, value, iteration)

    def close(self) -> None:
        """Flush and close the TensorBoard writer."""
        if self.writer is not None:
            self.writer.close()
