"""The attention-map controls File and Live share: show it over the output, its colour map and opacity."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QGroupBox, QLabel, QSlider, QWidget

from desktop.runtime.attention import COLOUR_MAPS, overlay

from .settings import Settings

NO_MAP = "this model has no attention map (U-GAT-IT models have one)"


class AttentionControls(QGroupBox):
    """Emits ``changed`` when the overlay is switched, recoloured or made more or less opaque; the colour map
    and opacity are remembered (:class:`Settings`)."""

    changed = Signal()

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__("Attention", parent)
        self.settings = settings
        self.show_map = QCheckBox("show the attention map")
        self.show_map.setToolTip("U-GAT-IT: where the model looked (its CAM heatmap), drawn over the output")
        self.colour_map = QComboBox()
        self.colour_map.addItems(list(COLOUR_MAPS))
        colour_map, opacity = settings.attention()
        self.colour_map.setCurrentText(colour_map)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(round(opacity * 100))
        self.opacity_label = QLabel()
        self.note = QLabel(NO_MAP)
        self.note.setWordWrap(True)
        grid = QGridLayout(self)
        grid.addWidget(self.show_map, 0, 0, 1, 3)
        grid.addWidget(QLabel("colours"), 1, 0)
        grid.addWidget(self.colour_map, 1, 1, 1, 2)
        grid.addWidget(QLabel("opacity"), 2, 0)
        grid.addWidget(self.opacity, 2, 1)
        grid.addWidget(self.opacity_label, 2, 2)
        grid.addWidget(self.note, 3, 0, 1, 3)
        self.show_map.toggled.connect(self._edited)
        self.colour_map.currentTextChanged.connect(self._edited)
        self.opacity.valueChanged.connect(self._edited)
        self._show_opacity()
        self.set_available(False)

    def set_available(self, available: bool) -> None:
        """Enable the controls when the model's results carry attention maps; say so when they do not."""
        for widget in (self.show_map, self.colour_map, self.opacity):
            widget.setEnabled(available)
        self.note.setVisible(not available)

    def showing(self) -> bool:
        """Whether outputs should be shown with their map over them."""
        return self.show_map.isEnabled() and self.show_map.isChecked()

    def colours(self) -> str:
        return self.colour_map.currentText()

    def apply(self, image: np.ndarray, heatmap: np.ndarray | None) -> np.ndarray:
        """``image`` with its heatmap over it when the overlay is on and there is one, else ``image``."""
        if not self.showing() or heatmap is None:
            return image
        return overlay(image, heatmap, self.opacity.value() / 100, self.colours())

    def _show_opacity(self) -> None:
        self.opacity_label.setText(f"{self.opacity.value()}%")

    def _edited(self, *_args) -> None:
        self._show_opacity()
        self.settings.set_attention(self.colours(), self.opacity.value() / 100)
        self.changed.emit()
