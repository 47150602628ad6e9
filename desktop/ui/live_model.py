"""Which model Live runs: the open model or, on a CPU, its distilled student (a "fast model") when one is
installed. The student keeps its teacher's interface (directions, style codes), so the style chosen in Live
works unchanged; a switch goes back to the full model and is remembered."""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QLabel, QVBoxLayout, QWidget

from desktop.runtime.bundle import find_bundles, student_for
from desktop.runtime.translators import open_translator

from .settings import Settings
from .tasks import TaskRunner

CPU = "cpu"


class LiveModelChoice(QWidget):
    """A "Fast model" check box (shown only when the open model has a student and runs on the CPU) and a line
    saying which model Live runs. :meth:`for_live` gives the translator Live should use for the open one."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.runner = TaskRunner(self)
        self.teacher = None  # the open model's translator
        self.student = None  # its student's translator, once opened
        self.fast_box = QCheckBox("Fast model on this CPU")
        self.fast_box.setToolTip("a smaller model distilled from the open one: same styles, higher frame rate")
        self.fast_box.setChecked(settings.live_fast_model())
        self.note = QLabel("")
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.fast_box)
        layout.addWidget(self.note)
        self.fast_box.toggled.connect(self._toggled)
        self._show()

    def model_changed(self, translator) -> None:
        """The window opened ``translator``: when it runs on the CPU, look for its student and open it, both in
        the background (the library scan stays off the UI thread)."""
        self.teacher, self.student = translator, None
        if translator is not None and translator.provider_info.active == CPU:
            name, provider = translator.bundle.name, translator.provider_info.requested
            precision = translator.requested_precision
            self.runner.submit(lambda: _open_student(name, provider, precision), self._student_opened,
                               self._student_failed, latest_only="student")
        self._show()

    def for_live(self, translator):
        """The translator Live should run instead of the open model's ``translator``: its student when one is
        open and the box is ticked, else ``translator`` itself."""
        student = self.student
        if translator is None or student is None or not self.fast_box.isChecked():
            return translator
        return student if student.bundle.student_of == translator.bundle.name else translator

    def describe(self) -> str:
        """Which model Live runs, for the note under the box (nothing when the open model has no student)."""
        chosen = self.for_live(self.teacher)
        if chosen is None or self.student is None:
            return ""
        title = chosen.bundle.title or chosen.bundle.name
        return f"fast model: {title} (student of {self.teacher.bundle.name})" if chosen is self.student \
            else f"full model: {title}"

    def _student_opened(self, student) -> None:
        teacher = self.teacher
        if student is not None and teacher is not None and student.bundle.student_of == teacher.bundle.name:
            self.student = student
        self._show()

    def _student_failed(self, message: str) -> None:
        self.student = None
        self._show(f"its fast model could not be opened: {message}")

    def _toggled(self, on: bool) -> None:
        self.settings.set_live_fast_model(on)
        self._show()

    def _show(self, problem: str = "") -> None:
        self.fast_box.setVisible(self.student is not None)
        self.note.setText(problem or self.describe())
        self.setVisible(self.student is not None or bool(problem))  # no gap in the tab without a student


def _open_student(teacher: str, provider: str, precision: str):
    """The translator of the installed student of the model named ``teacher``, or None when it has none."""
    found = student_for(teacher, find_bundles().bundles)
    return None if found is None else open_translator(found, provider=provider, precision=precision)
