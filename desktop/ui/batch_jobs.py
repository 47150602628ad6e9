"""The Batch workspace's views of the queue: the job table (state, progress bar, speed, ETA) and the
failure list of one job. They show what they are given; the queue and engine live in BatchTab."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QProgressBar, QTableWidget, QTableWidgetItem

from desktop.runtime.batch import ItemState, Job, JobState, Progress

JOB_COLUMNS = ("Job", "Input", "Model / direction", "State", "Progress", "Speed", "ETA")
PROGRESS_COLUMN = JOB_COLUMNS.index("Progress")


def format_eta(seconds: float | None) -> str:
    """"1:05" or "2:03:07"; "" when unknown."""
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


def job_state_text(job: Job) -> str:
    """"paused by the user", "failed: input folder not found: ...", "done"."""
    if not job.message or job.message.startswith(job.state.value):
        return job.message or job.state.value
    return f"{job.state.value}: {job.message}"


def _read_only_table(table: QTableWidget) -> None:
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)


def _cell(text: str) -> QTableWidgetItem:
    """A cell whose full text is also its tooltip (columns may cut it)."""
    item = QTableWidgetItem(text)
    item.setToolTip(text)
    return item


class JobTable(QTableWidget):
    """One row per job, in queue order; the job id is stored in column 0's UserRole."""

    def __init__(self) -> None:
        super().__init__(0, len(JOB_COLUMNS))
        self.setHorizontalHeaderLabels(JOB_COLUMNS)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        _read_only_table(self)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(PROGRESS_COLUMN, QHeaderView.ResizeMode.Fixed)
        self.setColumnWidth(PROGRESS_COLUMN, 170)  # a cell widget (the progress bar): not sized by its contents

    def selected_job(self) -> int | None:
        rows = self.selectionModel().selectedRows()
        return None if not rows else self.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)

    def show_jobs(self, jobs: list[Job], live: dict[int, Progress], select: int | None) -> None:
        """Show every job; `live` holds the newest progress of running jobs; select row `select`."""
        self.setRowCount(len(jobs))
        for row, job in enumerate(jobs):
            self.show_job(row, job, live.get(job.id))
            if job.id == select:
                self.selectRow(row)

    def show_job(self, row: int, job: Job, progress: Progress | None) -> None:
        """Fill one row; `progress` (a running job's newest report) wins over the stored counts."""
        spec = job.spec
        progress = progress if job.state == JobState.RUNNING else None
        cells = (f"#{job.id}", spec.input_dir + (" (+sub-folders)" if spec.recursive else ""),
                 f"{Path(spec.model).name} / {spec.direction}",
                 job_state_text(job), None,
                 f"{progress.files_per_s:.1f} img/s" if progress else "",
                 format_eta(progress.eta_s) if progress else "")
        for column, text in enumerate(cells):
            if text is None:
                continue
            item = _cell(text)
            if column == 0:
                item.setData(Qt.ItemDataRole.UserRole, job.id)
            self.setItem(row, column, item)
        bar = self.cellWidget(row, PROGRESS_COLUMN) or QProgressBar()
        total, finished = (progress.total, progress.finished) if progress else (job.total, job.finished)
        bar.setRange(0, max(total, 1))
        bar.setValue(finished)
        failed = progress.failed if progress else job.counts.get(ItemState.FAILED, 0)
        bar.setFormat(f"{finished}/{total}" + (f" ({failed} failed)" if failed else ""))
        self.setCellWidget(row, PROGRESS_COLUMN, bar)

    def row_of(self, job_id: int) -> int | None:
        for row in range(self.rowCount()):
            if self.item(row, 0).data(Qt.ItemDataRole.UserRole) == job_id:
                return row
        return None


class FailureTable(QTableWidget):
    """The failed files of one job and why each failed."""

    def __init__(self) -> None:
        super().__init__(0, 2)
        self.setHorizontalHeaderLabels(["File", "Reason"])
        self.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        _read_only_table(self)

    def show_failures(self, failures: list) -> None:
        """`failures`: the queue's failed items (each with `rel_path` and `reason`)."""
        self.setRowCount(len(failures))
        for row, item in enumerate(failures):
            for column, text in enumerate((item.rel_path, item.reason)):
                self.setItem(row, column, _cell(text))
