"""The 2D canvas the user drags on: anchors (circles with labels and their current weight) and one handle.
Positions are in canvas units, 0..1 on both axes; the blending itself is desktop.runtime.mixcanvas."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

ANCHOR_COLORS = {"reference": QColor(66, 165, 245), "typical": QColor(102, 187, 106),
                 "random": QColor(255, 167, 38), "code": QColor(171, 71, 188)}
GRAB_RADIUS_PX = 14


class MixCanvasView(QWidget):
    """Signals: handleMoved(x, y) while the handle is dragged (or clicked somewhere),
    anchorMoved(index, x, y) when an anchor is dragged, anchorSelected(index)."""

    handleMoved = Signal(float, float)
    anchorMoved = Signal(int, float, float)
    anchorSelected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 240)
        self.anchors: list[tuple[str, str, tuple[float, float]]] = []  # (label, kind, position)
        self.weights: list[float] = []
        self.handle = (0.5, 0.5)
        self.selected: int | None = None
        self._dragging: int | None = None  # anchor index, or -1 for the handle

    # model -> view ----------------------------------------------------------------------------------
    def set_anchors(self, anchors: list[tuple[str, str, tuple[float, float]]], weights: list[float]) -> None:
        self.anchors = list(anchors)
        self.weights = list(weights)
        if self.selected is not None and self.selected >= len(self.anchors):
            self.selected = None
        self.update()

    def set_handle(self, x: float, y: float) -> None:
        self.handle = (x, y)
        self.update()

    # geometry ---------------------------------------------------------------------------------------
    def _area(self) -> QRectF:
        side = min(self.width(), self.height()) - 40
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def to_widget(self, position: tuple[float, float]) -> QPointF:
        area = self._area()
        return QPointF(area.x() + position[0] * area.width(), area.y() + position[1] * area.height())

    def to_canvas(self, point: QPointF) -> tuple[float, float]:
        area = self._area()
        x = (point.x() - area.x()) / max(area.width(), 1)
        y = (point.y() - area.y()) / max(area.height(), 1)
        return min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)

    def _hit(self, point: QPointF) -> int | None:
        """-1 for the handle, an anchor index, or None."""
        targets = [(-1, self.handle)] + [(i, a[2]) for i, a in enumerate(self.anchors)]
        for index, position in targets:
            delta = self.to_widget(position) - point
            if (delta.x() ** 2 + delta.y() ** 2) ** 0.5 <= GRAB_RADIUS_PX:
                return index
        return None

    # mouse ------------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            return
        hit = self._hit(event.position())
        if hit is not None and hit >= 0:
            self.selected = hit
            self.anchorSelected.emit(hit)
            self._dragging = hit
        else:
            self._dragging = -1
            self._move_handle(event.position())
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._dragging is None:
            return
        if self._dragging == -1:
            self._move_handle(event.position())
        else:
            x, y = self.to_canvas(event.position())
            label, kind, _old = self.anchors[self._dragging]
            self.anchors[self._dragging] = (label, kind, (x, y))
            self.anchorMoved.emit(self._dragging, x, y)
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._dragging = None

    def _move_handle(self, point: QPointF) -> None:
        self.handle = self.to_canvas(point)
        self.handleMoved.emit(*self.handle)
        self.update()

    # painting ---------------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor(32, 33, 36))
        area = self._area()
        p.setPen(QPen(QColor(80, 80, 85), 1, Qt.PenStyle.DashLine))
        p.drawRect(area)
        handle = self.to_widget(self.handle)
        if not self.anchors:
            p.setPen(QColor(170, 170, 170))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                       "Add anchors: a reference image, the typical style or random draws")
        for i, (label, kind, position) in enumerate(self.anchors):
            point = self.to_widget(position)
            weight = self.weights[i] if i < len(self.weights) else 0.0
            p.setPen(QPen(QColor(255, 255, 255, int(40 + 160 * weight)), 1 + 3 * weight))
            p.drawLine(point, handle)
            color = ANCHOR_COLORS.get(kind, ANCHOR_COLORS["code"])
            p.setBrush(color)
            selected = i == self.selected
            p.setPen(QPen(QColor(255, 255, 255) if selected else color.darker(), 3 if selected else 1))
            p.drawEllipse(point, 10, 10)
            p.setPen(QColor(235, 235, 235))
            p.drawText(point + QPointF(14, -4), label)
            p.drawText(point + QPointF(14, 12), f"{weight * 100:.0f}%")
        p.setBrush(QColor(255, 255, 255))
        p.setPen(QPen(QColor(20, 20, 20), 2))
        p.drawEllipse(handle, 8, 8)
        p.end()
