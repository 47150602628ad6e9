"""Batch workspace: a form that adds jobs to the persistent queue, the job list with progress, and the
controls (start, pause, resume, cancel, reorder) and failure list. The engine runs in desktop.runtime.batch."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox, QProgressBar,
                               QPushButton, QSpinBox, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from desktop.runtime.batch import BatchEngine, BatchQueue, ItemState, Job, JobSpec, JobState, Progress, StyleSpec
from desktop.runtime.style import RandomStyle

from .session import ModelSession
from .settings import Settings

STYLE_CHOICES = (("random", "Random per image (seed)"), ("fixed", "One draw for all images (seed)"),
                 ("typical", "Typical style of the target"), ("reference", "Reference image"),
                 ("blend", "Current Mix blend"))
JOB_COLUMNS = ("Job", "Input", "Model / direction", "State", "Progress", "Speed", "ETA")
ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)


def format_eta(seconds: float | None) -> str:
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


class _EngineBridge(QObject):
    """Carries the engine's callbacks (called on its worker thread) to the UI thread as queued signals."""

    progress = Signal(object)
    state = Signal(int, str, str)


class PathField(QWidget):
    """A line edit with a "Browse..." button that picks a folder (or a file)."""

    def __init__(self, caption: str, settings: Settings, purpose: str, pick_file: bool = False) -> None:
        super().__init__()
        self.edit = QLineEdit()
        button = QPushButton("Browse...")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(button)

        def browse() -> None:
            start = self.edit.text() or settings.folder(purpose)
            path = (QFileDialog.getOpenFileName(self, caption, start)[0] if pick_file
                    else QFileDialog.getExistingDirectory(self, caption, start))
            if path:
                self.edit.setText(path)
                settings.set_folder(purpose, path)

        button.clicked.connect(browse)

    def text(self) -> str:
        return self.edit.text().strip()

    def setText(self, text: str) -> None:  # noqa: N802 (Qt-style name, like QLineEdit)
        self.edit.setText(text)


class JobForm(QGroupBox):
    """The "new job" form; `spec()` turns it into a JobSpec or raises ValueError with the reason."""

    def __init__(self, session: ModelSession, settings: Settings) -> None:
        super().__init__("New job")
        self.session = session
        self.input_dir = PathField("Input folder", settings, "batch-in")
        self.recursive = QCheckBox("include sub-folders")
        self.output_dir = PathField("Output folder", settings, "batch-out")
        self.model = QComboBox()
        self.direction = QComboBox()
        self.style = QComboBox()
        for kind, text in STYLE_CHOICES:
            self.style.addItem(text, kind)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.reference = PathField("Style reference image", settings, "reference", pick_file=True)
        self.output_format = QComboBox()
        self.output_format.addItems(["png", "jpg"])
        self.pattern = QLineEdit("{stem}_{direction}.{ext}")
        self.pattern.setToolTip("fields: {stem} {ext} {direction} {model} {source_ext}")
        self.keep_structure = QCheckBox("keep the folder structure")
        self.keep_structure.setChecked(True)
        self.skip_existing = QCheckBox("skip files whose output exists")
        self.add_button = QPushButton("Add job")
        form = QFormLayout(self)
        form.addRow("Input folder", self.input_dir)
        form.addRow("", self.recursive)
        form.addRow("Output folder", self.output_dir)
        form.addRow("Model", self.model)
        form.addRow("Direction", self.direction)
        form.addRow("Style", self.style)
        form.addRow("Seed", self.seed)
        form.addRow("Reference", self.reference)
        form.addRow("Format", self.output_format)
        form.addRow("Naming", self.pattern)
        form.addRow("", self.keep_structure)
        form.addRow("", self.skip_existing)
        form.addRow(self.add_button)
        session.modelsChanged.connect(lambda _e: self.show_models())
        session.translatorChanged.connect(lambda _t: self.show_models(select=session.entry.name))
        session.directionChanged.connect(self._follow_direction)
        self.model.currentIndexChanged.connect(lambda _i: self._show_directions())
        self.show_models()

    def show_models(self, select: str | None = None) -> None:
        """List the usable models; keep the chosen one, or select `select` (the model the window opened)."""
        current = select or self.model.currentData() or (self.session.entry.name if self.session.entry else "")
        self.model.blockSignals(True)
        self.model.clear()
        for entry in self.session.models:
            if entry.error is None:
                self.model.addItem(entry.label, entry.name)
        self.model.setCurrentIndex(max(self.model.findData(current), 0))
        self.model.blockSignals(False)
        self._show_directions()

    def _show_directions(self) -> None:
        entry = self.session.entry_named(self.model.currentData() or "")
        current = self.direction.currentData() or self.session.direction
        self.direction.clear()
        for direction_id, label in entry.directions if entry else ():
            self.direction.addItem(label, direction_id)
        self.direction.setCurrentIndex(max(self.direction.findData(current), 0))

    def _follow_direction(self, direction: str) -> None:
        """The window's direction changed (or a model opened): a form set to that model follows it."""
        if self.session.entry is not None and self.model.currentData() == self.session.entry.name:
            self.direction.setCurrentIndex(max(self.direction.findData(direction), 0))

    def _code_of_open_model(self, source) -> StyleSpec:
        """One style code for every image, computed with the model open in the window."""
        if self.session.entry is None or self.session.entry.name != self.model.currentData():
            raise ValueError("this style needs the model open: pick it in the model picker first")
        translator = self.session.translator
        if not translator.has_style:
            return StyleSpec()  # the model ignores style
        code = translator.style_code(source, self.direction.currentData())
        return StyleSpec(kind="code", code=tuple(float(v) for v in np.ravel(code)))

    def style_spec(self) -> StyleSpec:
        kind = self.style.currentData()
        entry = self.session.entry_named(self.model.currentData() or "")
        if kind in ("random", "fixed") and entry is not None and entry.has_style and not entry.random_styles:
            raise ValueError(f"{entry.name} has no random styles: use the typical style, a reference or the Mix blend")
        if kind == "reference":
            if not Path(self.reference.text()).is_file():
                raise ValueError("choose a reference image for the style")
            return StyleSpec(kind="reference", reference=self.reference.text())
        if kind == "blend":
            blend = self.session.blend_for(self.model.currentData(), self.direction.currentData())
            if blend is None:
                raise ValueError("no Mix blend for this model and direction yet: make one in the Mix workspace")
            return StyleSpec(kind="code", code=tuple(float(v) for v in np.ravel(blend.code)))
        if kind == "typical":
            return StyleSpec(kind="typical")
        if kind == "fixed":
            return self._code_of_open_model(RandomStyle(seed=self.seed.value()))
        return StyleSpec(kind="random", seed=self.seed.value())

    def spec(self) -> JobSpec:
        """The job the form describes; ValueError names what is missing or wrong."""
        input_dir, output_dir = self.input_dir.text(), self.output_dir.text()
        if not input_dir or not Path(input_dir).is_dir():
            raise ValueError(f"the input folder does not exist: {input_dir or '(none chosen)'}")
        if not output_dir:
            raise ValueError("choose an output folder")
        if Path(output_dir).resolve() == Path(input_dir).resolve():
            raise ValueError("the output folder must differ from the input folder (inputs are never touched)")
        entry = self.session.entry_named(self.model.currentData() or "")
        if entry is None or not self.direction.currentData():
            raise ValueError("choose a model and a direction")
        return JobSpec(input_dir=input_dir, output_dir=output_dir, model=str(entry.path),
                       direction=self.direction.currentData(), style=self.style_spec(),
                       recursive=self.recursive.isChecked(), output_format=self.output_format.currentText(),
                       pattern=self.pattern.text().strip(), keep_structure=self.keep_structure.isChecked(),
                       skip_existing=self.skip_existing.isChecked(), provider=self.session.provider)


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

        self.form = JobForm(session, settings)
        self.table = QTableWidget(0, len(JOB_COLUMNS))
        self.table.setHorizontalHeaderLabels(JOB_COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(4, 170)  # a cell widget (the progress bar): not sized by its contents
        self.buttons = {name: QPushButton(text) for name, text in (
            ("start", "Start queue"), ("pause", "Pause"), ("resume", "Resume"), ("cancel", "Cancel"),
            ("up", "Move up"), ("down", "Move down"), ("remove", "Remove"), ("export", "Export failures..."))}
        self.failures = QTableWidget(0, 2)
        self.failures.setHorizontalHeaderLabels(["File", "Reason"])
        self.failures.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.failures.verticalHeader().setVisible(False)
        self.failures.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.message = QLabel("")
        self.message.setWordWrap(True)

        controls = QHBoxLayout()
        for name in ("start", "pause", "resume", "cancel", "up", "down", "remove"):
            controls.addWidget(self.buttons[name])
        controls.addStretch(1)
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
        rows = self.table.selectionModel().selectedRows()
        return None if not rows else self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)

    def refresh(self, select: int | None = None) -> None:
        select = select if select is not None else self.selected_job()
        jobs = self.queue.jobs()
        self.table.setRowCount(len(jobs))
        for row, job in enumerate(jobs):
            self._show_job(row, job)
            if job.id == select:
                self.table.selectRow(row)
        self._selection_changed()

    def _show_job(self, row: int, job: Job) -> None:
        spec = job.spec
        progress = self.live_progress.get(job.id) if job.state == JobState.RUNNING else None
        cells = (f"#{job.id}", spec.input_dir + (" (+sub-folders)" if spec.recursive else ""),
                 f"{Path(spec.model).name} / {spec.direction}",
                 job_state_text(job), None,
                 f"{progress.files_per_s:.1f} img/s" if progress else "",
                 format_eta(progress.eta_s) if progress else "")
        for column, text in enumerate(cells):
            if text is None:
                continue
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            if column == 0:
                item.setData(Qt.ItemDataRole.UserRole, job.id)
            self.table.setItem(row, column, item)
        bar = self.table.cellWidget(row, 4) or QProgressBar()
        total, finished = (progress.total, progress.finished) if progress else (job.total, job.finished)
        bar.setRange(0, max(total, 1))
        bar.setValue(finished)
        failed = progress.failed if progress else job.counts.get(ItemState.FAILED, 0)
        bar.setFormat(f"{finished}/{total}" + (f" ({failed} failed)" if failed else ""))
        self.table.setCellWidget(row, 4, bar)

    def _row_of(self, job_id: int) -> int | None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == job_id:
                return row
        return None

    def _progress(self, progress: Progress) -> None:
        self.live_progress[progress.job_id] = progress
        row = self._row_of(progress.job_id)
        if row is not None:
            self._show_job(row, self.queue.job(progress.job_id))
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
        failures = self.queue.failures(job_id) if job_id is not None else []
        self.failures.setRowCount(len(failures))
        for row, item in enumerate(failures):
            for column, text in enumerate((item.rel_path, item.reason)):
                cell = QTableWidgetItem(text)
                cell.setToolTip(text)
                self.failures.setItem(row, column, cell)

    # buttons ----------------------------------------------------------------------------------------
    def _on_selected(self, action) -> None:
        job_id = self.selected_job()
        if job_id is not None:
            action(job_id)

    def _add_clicked(self) -> None:
        try:
            spec = self.form.spec()
        except ValueError as exc:
            self.message.setText(f"job not added: {exc}")
            return
        self.add_job(spec)

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
