"""Batch workspace: the "new job" form, the job list with progress, the controls (start, pause, resume,
cancel, reorder) and the failure list. The engine runs in desktop.runtime.batch; the form is in batch_form,
the tables in batch_jobs."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.runtime.batch import BatchEngine, BatchQueue, JobSpec, JobState, Progress

from .batch_form import JobForm
from .batch_jobs import FailureTable, JobTable
from .batch_notice import JobFinishedNotice
from .session import ModelSession
from .settings import Settings

ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)


class _EngineBridge(QObject):
    """Carries the engine's callbacks (called on its worker thread) to the UI thread as queued signals."""

    progress = Signal(object)
    state = Signal(int, str, str)


class BatchTab(QWidget):
    """The queue (SQLite in the user's data folder) and its engine; public methods mirror the buttons.
    `open_translator(bundle, provider)` is passed to the engine (tests slow it down to pause mid-job)."""

    def __init__(self, session: ModelSession, settings: Settings, queue: BatchQueue | None = None,
                 open_translator=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.settings = session, settings
        self.queue = queue or BatchQueue()
        self.bridge = _EngineBridge(self)
        self.engine = BatchEngine(self.queue, on_progress=self.bridge.progress.emit,
                                  on_state=lambda job_id, state, msg: self.bridge.state.emit(job_id, state.value, msg),
                                  open_translator=open_translator)
        self.live_progress: dict[int, Progress] = {}
        self.notice: JobFinishedNotice | None = None  # the last "job finished" message

        self.form = JobForm(session, settings)
        self.table = JobTable()
        self.buttons = {name: QPushButton(text) for name, text in (
            ("start", "Start queue"), ("pause", "Pause"), ("resume", "Resume"), ("cancel", "Cancel"),
            ("up", "Move up"), ("down", "Move down"), ("remove", "Remove"), ("export", "Export failures..."))}
        self.failures = FailureTable()
        self.message = QLabel("")
        self.message.setWordWrap(True)

        controls = QGridLayout()  # two short rows: the tab stays narrower than small screens
        for column, name in enumerate(("start", "pause", "resume", "cancel")):
            controls.addWidget(self.buttons[name], 0, column)
        for column, name in enumerate(("up", "down", "remove")):
            controls.addWidget(self.buttons[name], 1, column)
        controls.setColumnStretch(4, 1)
        right = QVBoxLayout()
        right.addLayout(controls)
        right.addWidget(self.table, 3)
        failure_row = QHBoxLayout()
        failure_row.addWidget(QLabel("Failures of the selected job"))
        failure_row.addStretch(1)
        failure_row.addWidget(self.buttons["export"])
        right.addLayout(failure_row)
        right.addWidget(self.failures, 2)
        right.addWidget(self.message)
        right_widget = QWidget()
        right_widget.setLayout(right)
        splitter = QSplitter()
        splitter.addWidget(self.form)
        splitter.addWidget(right_widget)
        splitter.setStretchFactor(1, 1)
        QHBoxLayout(self).addWidget(splitter)

        self.form.add_button.clicked.connect(self._add_clicked)
        self.buttons["start"].clicked.connect(self.start)
        self.buttons["pause"].clicked.connect(lambda: self._on_selected(self.pause))
        self.buttons["resume"].clicked.connect(lambda: self._on_selected(self.resume))
        self.buttons["cancel"].clicked.connect(lambda: self._on_selected(self.cancel))
        self.buttons["up"].clicked.connect(lambda: self._on_selected(lambda j: self.move(j, -1)))
        self.buttons["down"].clicked.connect(lambda: self._on_selected(lambda j: self.move(j, +1)))
        self.buttons["remove"].clicked.connect(lambda: self._on_selected(self.remove))
        self.buttons["export"].clicked.connect(self._export_clicked)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.bridge.progress.connect(self._progress)
        self.bridge.state.connect(self._state)
        self.refresh()
        unfinished = [j for j in self.queue.jobs() if j.state in ACTIVE_STATES]
        if unfinished:
            self.message.setText(f"{len(unfinished)} unfinished job(s) from last time: "
                                 "press Start queue to resume where they stopped")

    # queue actions ----------------------------------------------------------------------------------
    def add_job(self, spec: JobSpec, start: bool = True) -> int:
        job_id = self.queue.add_job(spec)
        self.message.setText(f"job {job_id} added")
        self.refresh(select=job_id)
        if start:
            self.start()
        return job_id

    def start(self) -> None:
        """Run every queued job in order on the engine's worker thread."""
        self.engine.start()

    def pause(self, job_id: int) -> None:
        self.engine.pause(job_id)

    def resume(self, job_id: int) -> None:
        self.engine.resume(job_id)

    def cancel(self, job_id: int) -> None:
        self.engine.cancel(job_id)

    def move(self, job_id: int, step: int) -> None:
        order = [job.id for job in self.queue.jobs()]
        self.queue.move_job(job_id, order.index(job_id) + step)
        self.refresh(select=job_id)

    def remove(self, job_id: int) -> None:
        if job_id == self.engine.running_job:
            self.message.setText("pause or cancel the job before removing it")
            return
        self.queue.remove_job(job_id)
        self.refresh()

    def export_failures(self, job_id: int, path: Path) -> int:
        count = self.queue.export_failures_csv(job_id, path)
        self.message.setText(f"wrote {count} failure(s) to {path}")
        return count

    def shutdown(self) -> None:
        """Stop after the file in flight; the job stays queued and resumes on the next run."""
        self.engine.stop()

    # view -------------------------------------------------------------------------------------------
    def selected_job(self) -> int | None:
        return self.table.selected_job()

    def refresh(self, select: int | None = None) -> None:
        select = select if select is not None else self.selected_job()
        self.table.show_jobs(self.queue.jobs(), self.live_progress, select)
        self._selection_changed()

    def _progress(self, progress: Progress) -> None:
        self.live_progress[progress.job_id] = progress
        row = self.table.row_of(progress.job_id)
        if row is not None:
            self.table.show_job(row, self.queue.job(progress.job_id), progress)
        if progress.job_id == self.selected_job() and progress.failed != self.failures.rowCount():
            self._show_failures(progress.job_id)
        if progress.files_per_s > 0:
            self.session.report_timing(1000.0 / progress.files_per_s)

    def _state(self, job_id: int, state: str, message: str) -> None:
        if state != JobState.RUNNING.value:
            self.live_progress.pop(job_id, None)
        self.refresh()
        if message:
            self.message.setText(f"job {job_id}: {message}")
        if state == JobState.DONE.value:
            self.notice = JobFinishedNotice(self.queue.job(job_id), self)
            self.notice.show()  # not modal: the next job starts meanwhile

    def _selection_changed(self) -> None:
        job_id = self.selected_job()
        state = self.queue.job(job_id).state if job_id is not None else None
        allowed = {name: job_id is not None for name in ("up", "down", "remove", "export")}
        allowed["pause"] = state in (JobState.QUEUED, JobState.RUNNING)
        allowed["resume"] = state in (JobState.PAUSED, JobState.CANCELLED, JobState.FAILED)
        allowed["cancel"] = state in (JobState.QUEUED, JobState.RUNNING, JobState.PAUSED)
        for name, enabled in allowed.items():
            self.buttons[name].setEnabled(enabled)
        self._show_failures(job_id)

    def _show_failures(self, job_id: int | None) -> None:
        self.failures.show_failures(self.queue.failures(job_id) if job_id is not None else [])

    # buttons ----------------------------------------------------------------------------------------
    def _on_selected(self, action) -> None:
        job_id = self.selected_job()
        if job_id is not None:
            action(job_id)

    def _add_clicked(self) -> None:
        """Add the form's job; a wrong field or a job the runtime refuses (e.g. one that would overwrite
        its inputs) is shown in one line and nothing is queued."""
        try:
            self.add_job(self.form.spec())
        except (ValueError, OSError) as exc:  # the runtime's BatchError is a ValueError
            self.message.setText(f"job not added: {exc}")

    def _export_clicked(self) -> None:
        job_id = self.selected_job()
        if job_id is None:
            return
        start = str(Path(self.settings.folder("failures")) / f"failures-job{job_id}.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export failures", start, "CSV (*.csv)")
        if path:
            try:
                self.export_failures(job_id, Path(path))
                self.settings.set_folder("failures", path)
            except OSError as exc:
                QMessageBox.warning(self, "Export failures", f"not written: {exc}")
