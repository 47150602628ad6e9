"""The message shown when a batch job finishes: its counts (done / failed / skipped) and a button that
opens the output folder. It is not modal: the queue goes on with the next job while it is shown."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QWidget

from desktop.runtime.batch import ItemState, Job


def finished_text(job: Job) -> str:
    """"Job 3 finished: 18 translated, 2 failed, 4 skipped." (the failures are listed in the Batch tab)."""
    counts = {state: job.counts.get(state, 0) for state in (ItemState.DONE, ItemState.FAILED, ItemState.SKIPPED)}
    text = (f"Job {job.id} finished: {counts[ItemState.DONE]} translated, {counts[ItemState.FAILED]} failed, "
            f"{counts[ItemState.SKIPPED]} skipped.")
    return text + (" The failed files and why are listed under the job." if counts[ItemState.FAILED] else "")


class JobFinishedNotice(QMessageBox):
    """Non-modal; "Open output folder" opens `job.spec.output_dir` with the desktop's file browser."""

    def __init__(self, job: Job, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.output_dir = Path(job.spec.output_dir)
        self.setWindowTitle("Batch job finished")
        self.setIcon(QMessageBox.Icon.Information)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(finished_text(job))
        self.setInformativeText(str(self.output_dir))
        self.open_button = self.addButton("Open output folder", QMessageBox.ButtonRole.ActionRole)
        self.addButton(QMessageBox.StandardButton.Close)
        self.open_button.clicked.connect(self.open_output_folder)
        self.setModal(False)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def open_output_folder(self) -> bool:
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.output_dir)))
