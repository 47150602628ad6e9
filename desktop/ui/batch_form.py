"""The Batch workspace's "new job" form: folders, model, direction, style, naming; `spec()` turns it
into a JobSpec or raises ValueError with the reason."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from desktop.runtime.batch import JobSpec, JobStyle
from desktop.runtime.style import RandomStyle

from .session import ModelSession
from .settings import Settings

STYLE_CHOICES = (("random", "Random per image (seed)"), ("fixed", "One draw for all images (seed)"),
                 ("typical", "Typical style of the target"), ("reference", "Reference image"),
                 ("blend", "Current Mix blend"))


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

    def _code_of_open_model(self, source) -> JobStyle:
        """One style code for every image, computed with the model open in the window."""
        if self.session.entry is None or self.session.entry.name != self.model.currentData():
            raise ValueError("this style needs the model open: pick it in the model picker first")
        translator = self.session.translator
        if not translator.capabilities.styles:
            return JobStyle()  # the model ignores style
        code = translator.style_code(source, self.direction.currentData())
        return JobStyle(kind="code", code=tuple(float(v) for v in np.ravel(code)))

    def style_spec(self) -> JobStyle:
        kind = self.style.currentData()
        entry = self.session.entry_named(self.model.currentData() or "")
        if kind in ("random", "fixed") and entry is not None and entry.has_style and not entry.random_styles:
            raise ValueError(f"{entry.name} has no random styles: use the typical style, a reference or the Mix blend")
        if kind == "reference":
            if not Path(self.reference.text()).is_file():
                raise ValueError("choose a reference image for the style")
            return JobStyle(kind="reference", reference=self.reference.text())
        if kind == "blend":
            blend = self.session.blend_for(self.model.currentData(), self.direction.currentData())
            if blend is None:
                raise ValueError("no Mix blend for this model and direction yet: make one in the Mix workspace")
            return JobStyle(kind="code", code=tuple(float(v) for v in np.ravel(blend.code)))
        if kind == "typical":
            return JobStyle(kind="typical")
        if kind == "fixed":
            return self._code_of_open_model(RandomStyle(seed=self.seed.value()))
        return JobStyle(kind="random", seed=self.seed.value())

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
