"""A one-line label that never widens its window: text longer than the room it gets ends in "...", and
the whole text is in its tooltip. Shown as plain text, never rich text (it may hold manifest text)."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

MIN_CHARS = 8  # what the label asks for at least: a few characters, whatever its text
HINT_CHARS = 60  # what it would like at most


class ElidedLabel(QLabel):
    """`setText` keeps the full text (`text()` returns it); the label paints as much as fits."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._full = ""
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        self._full = text
        self.setToolTip(text)
        super().setText(text)
        self.updateGeometry()

    def text(self) -> str:
        return self._full

    def shown_text(self) -> str:
        """What fits in the label's current width (the full text, or its start and "...")."""
        return self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(self.width(), 0))

    def sizeHint(self) -> QSize:  # noqa: N802
        """As wide as the text up to HINT_CHARS characters; the layout may give less, down to MIN_CHARS."""
        metrics = self.fontMetrics()
        width = min(metrics.horizontalAdvance(self._full), metrics.averageCharWidth() * HINT_CHARS)
        return QSize(max(width, self.minimumSizeHint().width()) + 4, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.fontMetrics().averageCharWidth() * MIN_CHARS, super().minimumSizeHint().height())

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.contentsRect(), int(self.alignment()), self.shown_text())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.update()
