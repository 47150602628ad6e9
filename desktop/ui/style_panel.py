"""Style choice shared by Live and File: random draws (seed, re-roll), a reference image, or the Mix blend."""
from __future__ import annotations

import random
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QWidget,
)

from desktop.runtime.style import RandomStyle, ReferenceStyle, TypicalStyle
from i2i_common.images import read_image

from .session import ModelSession
from .settings import Settings

MODES = ("random", "typical", "reference", "blend")


class StylePanel(QGroupBox):
    """Emits `changed` whenever the style the workspace should use changes."""

    changed = Signal()

    def __init__(self, session: ModelSession, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__("Style", parent)
        self.session = session
        self.settings = settings
        self.reference: tuple[Path, object] | None = None
        self.buttons = {mode: QRadioButton(text) for mode, text in
                        zip(MODES, ("Random", "Typical", "Reference", "Mix blend"), strict=True)}
        self.group = QButtonGroup(self)
        for button in self.buttons.values():
            self.group.addButton(button)
        self.buttons["random"].setChecked(True)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.reroll = QPushButton("Re-roll")
        self.pick_reference = QPushButton("Choose...")
        self.reference_label = QLabel("none")
        self.blend_label = QLabel("none yet: make one in Mix")
        self.no_style_note = QLabel()  # shown instead of failing when the model has no style code
        self.no_style_note.setWordWrap(True)
        self.no_style_note.setVisible(False)
        grid = QGridLayout(self)
        self.seed.setPrefix("seed ")
        grid.addWidget(self.buttons["random"], 0, 0)
        grid.addWidget(self.seed, 0, 1)
        grid.addWidget(self.reroll, 0, 2)
        grid.addWidget(self.buttons["typical"], 1, 0)
        grid.addWidget(QLabel("the target domain's most typical look"), 1, 1, 1, 2)
        grid.addWidget(self.buttons["reference"], 2, 0)
        grid.addWidget(self.pick_reference, 2, 1)
        grid.addWidget(self.reference_label, 2, 2)
        grid.addWidget(self.buttons["blend"], 3, 0)
        grid.addWidget(self.blend_label, 3, 1, 1, 2)
        grid.addWidget(self.no_style_note, 4, 0, 1, 3)
        grid.setColumnStretch(1, 1)
        self.blend_label.setWordWrap(True)
        self.group.buttonToggled.connect(lambda _b, on: on and self.changed.emit())
        self.seed.valueChanged.connect(lambda _v: self.changed.emit())
        self.reroll.clicked.connect(self.reroll_seed)
        self.pick_reference.clicked.connect(self._choose_reference)
        session.blendChanged.connect(self._blend_changed)
        session.translatorChanged.connect(self._translator_changed)
        session.directionChanged.connect(lambda _d: self._update_blend_button())
        self._update_blend_button()

    def mode(self) -> str:
        return next(mode for mode, button in self.buttons.items() if button.isChecked())

    def set_mode(self, mode: str) -> None:
        self.buttons[mode].setChecked(True)

    def reroll_seed(self) -> None:
        """A new random seed (the change signal re-runs the translation)."""
        self.seed.setValue(random.randrange(2**31 - 1))

    def style(self, offset: int = 0):
        """The style source for the current choice; `offset` shifts the seed (File's grid of draws)."""
        mode = self.mode()
        if mode == "reference" and self.reference is not None:
            return ReferenceStyle(self.reference[1])
        if mode == "blend" and self.session.current_blend() is not None:
            return self.session.current_blend()
        if mode == "typical" or not self.random_available():
            return TypicalStyle()
        return RandomStyle(seed=self.seed.value() + offset)

    def describe(self, offset: int = 0) -> str:
        mode = self.mode()
        if mode == "reference" and self.reference is not None:
            return f"reference {self.reference[0].name}"
        if mode == "blend" and self.session.current_blend() is not None:
            return "mix blend"
        if mode == "typical" or not self.random_available():
            return "typical style"
        return f"seed {self.seed.value() + offset}"

    def random_available(self) -> bool:
        translator = self.session.translator
        return translator is not None and translator.capabilities.random_styles

    def _translator_changed(self, translator) -> None:
        """Enable what the model supports (its capabilities); without a prior the default is the typical style."""
        styled = bool(translator is not None and translator.capabilities.styles)
        random_ok = self.random_available()
        self.setEnabled(styled)
        self.no_style_note.setVisible(translator is not None and not random_ok)
        if translator is not None and not styled:
            self.no_style_note.setText(f"this model ({translator.bundle.family}) has no style code: "
                                       "each image has one translation")
        elif translator is not None and not random_ok:
            self.no_style_note.setText(f"no random styles: this model ({translator.bundle.family}) has no style "
                                       "prior to draw them from; use the typical style or a reference image")
        for widget in (self.buttons["random"], self.seed, self.reroll):
            widget.setEnabled(random_ok)
        if not random_ok and self.mode() == "random":
            self.set_mode("typical")

    def set_reference(self, path: Path) -> None:
        """Use the image at `path` as the style reference; raises ImageReadError for a bad file."""
        self.reference = (path, read_image(path)[..., :3])
        self.reference_label.setText(path.name)
        self.settings.set_folder("reference", path)
        if self.mode() == "reference":
            self.changed.emit()
        else:
            self.set_mode("reference")

    def _choose_reference(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Style reference image", self.settings.folder("reference"),
                                              "Images (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff)")
        if not path:
            return
        try:
            self.set_reference(Path(path))
        except Exception as exc:  # ImageReadError and OS errors: shown beside the button
            self.reference_label.setText(f"cannot use it: {exc}")

    def _blend_changed(self, blend) -> None:
        self._update_blend_button()
        if self.mode() == "blend":
            self.changed.emit()

    def _update_blend_button(self) -> None:
        available = self.session.current_blend() is not None
        self.buttons["blend"].setEnabled(available)
        self.blend_label.setText("from the Mix canvas" if available else "none yet: make one in Mix")
