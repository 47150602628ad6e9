"""Widgets that show numpy RGB images: a single view and a before/after comparison view."""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


def to_qimage(rgb: np.ndarray) -> QImage:
    """A deep-copied QImage of an HxWx3 (RGB) or HxWx4 (RGBA) uint8 array."""
    arr = np.ascontiguousarray(rgb)
    if arr.ndim == 2:
        arr = np.ascontiguousarray(np.repeat(arr[:, :, None], 3, axis=2))
    h, w, c = arr.shape
    fmt = QImage.Format.Format_RGBA8888 if c == 4 else QImage.Format.Format_RGB888
    return QImage(arr.data, w, h, arr.strides[0], fmt).copy()


def fit_rect(image_w: int, image_h: int, area: QRect) -> QRectF:
    """The largest rectangle of the image's aspect ratio centred in area."""
    scale = min(area.width() / max(image_w, 1), area.height() / max(image_h, 1))
    w, h = image_w * scale, image_h * scale
    return QRectF(area.x() + (area.width() - w) / 2, area.y() + (area.height() - h) / 2, w, h)


class _Canvas(QWidget):
    """Common painting helpers: dark background, placeholder text, overlay text box."""

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._placeholder = placeholder
        self._overlay = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def set_overlay(self, text: str) -> None:
        """Small text box drawn in the top-left corner (FPS and latency in Live)."""
        self._overlay = text
        self.update()

    def overlay(self) -> str:
        return self._overlay

    def _paint_background(self, p: QPainter) -> None:
        p.fillRect(self.rect(), QColor(32, 33, 36))

    def _paint_placeholder(self, p: QPainter) -> None:
        p.setPen(QColor(170, 170, 170))
        p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._placeholder)

    def _paint_overlay(self, p: QPainter) -> None:
        if not self._overlay:
            return
        font = QFont(self.font())
        font.setPointSize(max(font.pointSize() - 1, 8))
        p.setFont(font)
        box = p.fontMetrics().boundingRect(QRect(0, 0, 600, 200), 0, self._overlay).adjusted(-6, -4, 6, 4)
        box.moveTopLeft(self.rect().topLeft() + QRect(8, 8, 0, 0).topLeft())
        p.fillRect(box, QColor(0, 0, 0, 160))
        p.setPen(QColor(240, 240, 240))
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter  # lines (Live: rates, stage times)
        p.drawText(box.adjusted(6, 4, -6, -4), left, self._overlay)


class ImageView(_Canvas):
    """Shows one image scaled to fit, keeping its aspect ratio."""

    clicked = Signal()

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(placeholder, parent)
        self._array: np.ndarray | None = None
        self._qimage: QImage | None = None
        self._selected = False

    def set_image(self, rgb: np.ndarray | None) -> None:
        self._array = rgb
        self._qimage = None if rgb is None else to_qimage(rgb)
        self.update()

    def image(self) -> np.ndarray | None:
        return self._array

    def set_selected(self, selected: bool) -> None:
        self._selected = selected
        self.update()

    def is_selected(self) -> bool:
        return self._selected

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt name)
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mousePressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self._paint_background(p)
        if self._qimage is None:
            self._paint_placeholder(p)
        else:
            p.drawImage(fit_rect(self._qimage.width(), self._qimage.height(), self.rect()), self._qimage)
        if self._selected:
            p.setPen(QPen(QColor(66, 165, 245), 4))
            p.drawRect(self.rect().adjusted(2, 2, -2, -2))
        self._paint_overlay(p)
        p.end()


class CompareView(_Canvas):
    """Before/after view. Modes: "split" (a draggable divider), "side" (side by side), "output" only."""

    MODES = ("split", "side", "output")
    splitChanged = Signal(float)

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(placeholder, parent)
        self._before: QImage | None = None
        self._after: QImage | None = None
        self._after_array: np.ndarray | None = None
        self._mode = "split"
        self._split = 0.5
        self.paint_ms = 0.0  # how long the latest paint took (Live counts it in its display stage)

    def set_images(self, before: np.ndarray | None, after: np.ndarray | None) -> None:
        self._before = None if before is None else to_qimage(before)
        self._after = None if after is None else to_qimage(after)
        self._after_array = after
        self.update()

    def after(self) -> np.ndarray | None:
        return self._after_array

    def set_mode(self, mode: str) -> None:
        if mode not in self.MODES:
            raise ValueError(f"unknown view mode {mode!r}; expected one of {', '.join(self.MODES)}")
        self._mode = mode
        self.update()

    def mode(self) -> str:
        return self._mode

    def set_split(self, fraction: float) -> None:
        """Position of the divider in split mode, 0 (all output) .. 1 (all input)."""
        self._split = min(max(float(fraction), 0.0), 1.0)
        self.splitChanged.emit(self._split)
        self.update()

    def split(self) -> float:
        return self._split

    def _image_area(self) -> QRectF | None:
        ref = self._before or self._after
        return None if ref is None else fit_rect(ref.width(), ref.height(), self.rect())

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag_split(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._drag_split(event)

    def _drag_split(self, event: QMouseEvent) -> None:
        area = self._image_area()
        if self._mode == "split" and area is not None and area.width() > 0:
            self.set_split((event.position().x() - area.x()) / area.width())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        began = time.perf_counter()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self._paint_background(p)
        if self._before is None and self._after is None:
            self._paint_placeholder(p)
        elif self._mode == "side":
            half_w = self.width() // 2
            for image, rect in ((self._before, QRect(0, 0, half_w - 2, self.height())),
                                (self._after, QRect(half_w + 2, 0, self.width() - half_w - 2, self.height()))):
                if image is not None:
                    p.drawImage(fit_rect(image.width(), image.height(), rect), image)
        elif self._mode == "output" or self._before is None:
            image = self._after or self._before
            p.drawImage(fit_rect(image.width(), image.height(), self.rect()), image)
        else:
            self._paint_split(p)
        self._paint_overlay(p)
        p.end()
        self.paint_ms = (time.perf_counter() - began) * 1000

    def _paint_split(self, p: QPainter) -> None:
        area = self._image_area()
        p.drawImage(area, self._before)
        if self._after is not None:
            cut = area.width() * self._split
            src_cut = self._after.width() * self._split
            p.drawImage(QRectF(area.x() + cut, area.y(), area.width() - cut, area.height()), self._after,
                        QRectF(src_cut, 0, self._after.width() - src_cut, self._after.height()))
            x = area.x() + cut
            p.setPen(QPen(QColor(255, 255, 255), 2))
            p.drawLine(QPointF(x, area.top()), QPointF(x, area.bottom()))


def link_split_slider(view: CompareView, slider) -> None:
    """Keep a 0..100 slider and the view's divider in step, whichever one the user moves."""
    slider.setRange(0, 100)
    slider.setValue(round(view.split() * 100))
    slider.valueChanged.connect(lambda value: view.set_split(value / 100))
    view.splitChanged.connect(lambda fraction: slider.setValue(round(fraction * 100)))
