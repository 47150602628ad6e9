"""Mix workspace: style anchors on a 2D canvas, a draggable handle that blends their codes, a live
preview that re-runs only the decoder, path export, and "use this blend" for Live, File and Batch."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.runtime.mixcanvas import MixCanvas
from desktop.runtime.samples import sample_images, samples_of
from i2i_common.images import read_image

from .file_tab import IMAGE_FILTER
from .image_view import ImageView
from .mix_canvas_view import MixCanvasView
from .session import ModelSession
from .settings import Settings
from .tasks import TaskRunner

# Where new anchors land on the 0..1 canvas, in turn: the corners first, then the edges' middles.
ANCHOR_SLOTS = ((0.15, 0.15), (0.85, 0.15), (0.85, 0.85), (0.15, 0.85), (0.5, 0.1), (0.9, 0.5), (0.5, 0.9),
                (0.1, 0.5))


class MixTab(QWidget):
    """Public methods mirror the buttons so tests and the screenshot script can drive the workspace."""

    def __init__(self, session: ModelSession, runner: TaskRunner, settings: Settings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.runner, self.settings = session, runner, settings
        self.canvas: MixCanvas | None = None
        self.image: np.ndarray | None = None
        self.image_path: Path | None = None
        self.handle = (0.5, 0.5)
        self._content_ready = False
        self._preview_busy = False
        self._preview_pending = False
        self._seeds = itertools.count(1)
        self._reserved: set[tuple[float, float]] = set()
        self.previews_shown = 0

        self.view = MixCanvasView()
        self.preview = ImageView("Choose a preview image")
        self.weights_label = QLabel("")
        self.weights_label.setWordWrap(True)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.buttons = {name: QPushButton(text) for name, text in (
            ("image", "Preview image..."), ("reference", "Add reference image..."), ("typical", "Add typical style"),
            ("random", "Add random draw"), ("remove", "Remove selected anchor"), ("use", "Use this blend"),
            ("export", "Export path..."))}
        self.path_start = QComboBox()
        self.path_end = QComboBox()
        self.steps = QSpinBox()
        self.steps.setRange(2, 120)
        self.steps.setValue(24)

        anchors_box = QGroupBox("Anchors")
        anchors_layout = QVBoxLayout(anchors_box)
        for name in ("reference", "typical", "random", "remove"):
            anchors_layout.addWidget(self.buttons[name])
        export_box = QGroupBox("Export the path between two anchors")
        export_form = QFormLayout(export_box)
        export_form.addRow("from", self.path_start)
        export_form.addRow("to", self.path_end)
        export_form.addRow("frames", self.steps)
        export_form.addRow(self.buttons["export"])
        left = QVBoxLayout()
        left.addWidget(self.buttons["image"])
        left.addWidget(anchors_box)
        left.addWidget(QLabel("Weights"))
        left.addWidget(self.weights_label)
        left.addWidget(self.buttons["use"])
        left.addWidget(export_box)
        left.addStretch(1)
        left.addWidget(self.message)
        left_widget = QWidget()
        left_widget.setLayout(left)
        left_widget.setFixedWidth(290)  # a stable canvas size while labels change during a drag
        splitter = QSplitter()
        splitter.addWidget(left_widget)
        splitter.addWidget(self.view)
        splitter.addWidget(self.preview)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 1)
        QHBoxLayout(self).addWidget(splitter)

        self.buttons["image"].clicked.connect(self._image_clicked)
        self.buttons["reference"].clicked.connect(self._reference_clicked)
        self.buttons["typical"].clicked.connect(self.add_typical)
        self.buttons["random"].clicked.connect(lambda: self.add_random())
        self.buttons["remove"].clicked.connect(self.remove_selected)
        self.buttons["use"].clicked.connect(self.use_blend)
        self.buttons["export"].clicked.connect(self._export_clicked)
        self.view.handleMoved.connect(self.move_handle)
        self.view.anchorMoved.connect(self._anchor_moved)
        self.view.anchorSelected.connect(lambda _index: self._enable())
        session.translatorChanged.connect(lambda _t: self.reset())
        session.directionChanged.connect(lambda _d: self.reset())
        self.reset()

    # canvas life cycle ------------------------------------------------------------------------------
    def reset(self) -> None:
        """A new canvas for the current model and direction (style codes belong to one target domain)."""
        translator = self.session.translator
        self.canvas = None
        self._content_ready = False
        self._reserved.clear()
        if translator is None or not translator.capabilities.styles:
            self.message.setText("this model has no style code to mix" if translator else "no model open")
        else:
            self.canvas = MixCanvas(translator, self.session.direction)
            self.message.setText("")
            if self.image is None:
                samples = samples_of(self.session.source_domain()) or sample_images()
                if samples:
                    self.set_image(samples[0])
            else:
                self._encode_content()
        self._refresh_anchors()
        self._enable()

    def _enable(self) -> None:
        usable = self.canvas is not None
        can = self.session.translator.capabilities if usable else None
        count = len(self.canvas.anchors) if usable else 0
        self.buttons["image"].setEnabled(usable)
        self.buttons["reference"].setEnabled(bool(can and can.reference_styles))
        self.buttons["typical"].setEnabled(bool(can and can.typical_style))
        self.buttons["random"].setEnabled(bool(can and can.random_styles))
        self.buttons["random"].setToolTip("" if not can or can.random_styles else
                                          "this model has no style prior to draw random styles from")
        self.buttons["remove"].setEnabled(usable and self.view.selected is not None)
        self.buttons["use"].setEnabled(count >= 1)
        self.buttons["export"].setEnabled(count >= 2)

    def set_image(self, path: Path) -> None:
        """Use the image at `path` for the preview; its content is encoded once, in the background."""
        try:
            self.image = read_image(path)[..., :3]
        except Exception as exc:  # a bad file: say so and keep the previous image
            self.message.setText(f"cannot use {Path(path).name}: {exc}")
            return
        self.image_path = Path(path)
        self.settings.set_folder("mix-image", path)
        self._encode_content()

    def _encode_content(self) -> None:
        canvas, image = self.canvas, self.image
        if canvas is None or image is None:
            return
        self._content_ready = False

        def done(_result) -> None:
            if canvas is self.canvas:
                self._content_ready = True
                self.request_preview()

        self.runner.submit(lambda: canvas.set_image(image), done, self._failed, latest_only="mix-content")

    # anchors ----------------------------------------------------------------------------------------
    def _next_slot(self) -> tuple[float, float]:
        used = {a.position for a in self.canvas.anchors} | self._reserved
        return next((s for s in ANCHOR_SLOTS if s not in used), (0.5, 0.5))

    def _add(self, make) -> None:
        """Run `make(canvas, position)` (which encodes a style code) off the UI thread, then redraw."""
        canvas = self.canvas
        if canvas is None:
            return
        position = self._next_slot()
        self._reserved.add(position)  # anchors being encoded keep their slot

        def done(_anchor) -> None:
            self._reserved.discard(position)
            if canvas is self.canvas:
                self._refresh_anchors()
                self.request_preview()

        def failed(message: str) -> None:
            self._reserved.discard(position)
            self._failed(message)

        self.runner.submit(lambda: make(canvas, position), done, failed)

    def add_reference(self, path: Path) -> None:
        try:
            image = read_image(path)[..., :3]
        except Exception as exc:
            self.message.setText(f"cannot use {Path(path).name}: {exc}")
            return
        self._add(lambda canvas, pos: canvas.add_reference(image, pos, label=Path(path).stem))

    def add_typical(self) -> None:
        self._add(lambda canvas, pos: canvas.add_typical(pos))

    def add_random(self, seed: int | None = None) -> None:
        seed = next(self._seeds) if seed is None else seed
        self._add(lambda canvas, pos: canvas.add_random(seed, pos))

    def remove_selected(self) -> None:
        if self.canvas is not None and self.view.selected is not None:
            self.canvas.remove_anchor(self.view.selected)
            self.view.selected = None
            self._refresh_anchors()
            self.request_preview()

    def _anchor_moved(self, index: int, x: float, y: float) -> None:
        self.canvas.move_anchor(index, (x, y))
        self._refresh_anchors()
        self.request_preview()

    def weights(self) -> list[float]:
        if self.canvas is None or not self.canvas.anchors:
            return []
        return [float(w) for w in self.canvas.weights(self.handle)]

    def _refresh_anchors(self) -> None:
        anchors = self.canvas.anchors if self.canvas is not None else []
        weights = self.weights()
        self.view.set_anchors([(a.label, a.kind, a.position) for a in anchors], weights)
        self.view.set_handle(*self.handle)
        shares = [f"{a.label}: {w * 100:.0f}%" for a, w in zip(anchors, weights, strict=True)]
        self.weights_label.setText("\n".join(shares) or "no anchors yet")
        for combo in (self.path_start, self.path_end):
            current = combo.currentIndex()
            combo.clear()
            combo.addItems([a.label for a in anchors])
            combo.setCurrentIndex(current if 0 <= current < len(anchors) else -1)
        if len(anchors) >= 2 and self.path_start.currentIndex() == self.path_end.currentIndex():
            self.path_start.setCurrentIndex(0)
            self.path_end.setCurrentIndex(1)
        self._enable()

    # handle and preview -----------------------------------------------------------------------------
    def move_handle(self, x: float, y: float) -> None:
        self.handle = (float(x), float(y))
        self._refresh_anchors()
        self.request_preview()

    def request_preview(self) -> None:
        """Decode the blend at the handle; while one decode runs, later moves collapse into one more."""
        canvas = self.canvas
        if canvas is None or not canvas.anchors or not self._content_ready:
            return
        if self._preview_busy:
            self._preview_pending = True
            return
        self._preview_busy = True
        handle = self.handle

        def done(image) -> None:
            self._preview_busy = False
            if canvas is self.canvas:
                self.preview.set_image(image)
                self.previews_shown += 1
            if self._preview_pending:
                self._preview_pending = False
                self.request_preview()

        def failed(message: str) -> None:
            self._preview_busy = False
            self._failed(message)

        self.runner.submit(lambda: canvas.preview(handle), done, failed)

    def use_blend(self) -> None:
        """Make the blend at the handle the "Mix blend" style of Live, File and Batch."""
        if self.canvas is not None and self.canvas.anchors:
            self.session.set_blend(self.canvas.style_at(self.handle))
            self.message.setText("this blend is now available as \"Mix blend\" in Live, File and Batch")

    # export -----------------------------------------------------------------------------------------
    def export_path(self, path: Path, on_done=None) -> None:
        """Write the path between the chosen anchors as .gif or .mp4 in the background."""
        canvas, start, end, steps = self.canvas, self.path_start.currentIndex(), self.path_end.currentIndex(), \
            self.steps.value()
        if canvas is None or min(start, end) < 0 or start == end:
            self.message.setText("choose two different anchors to export the path between")
            return
        self.message.setText(f"exporting {Path(path).name}...")

        def done(written: Path) -> None:
            self.message.setText(f"exported {written}")
            if on_done is not None:
                on_done(written)

        self.runner.submit(lambda: canvas.export_path(start, end, path, steps=steps), done, self._failed)

    def _failed(self, message: str) -> None:
        self.message.setText(f"failed: {message}")

    # dialogs ----------------------------------------------------------------------------------------
    def _image_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Preview image", self.settings.folder("mix-image"), IMAGE_FILTER)
        if path:
            self.set_image(Path(path))

    def _reference_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Style reference image", self.settings.folder("reference"),
                                              IMAGE_FILTER)
        if path:
            self.settings.set_folder("reference", path)
            self.add_reference(Path(path))

    def _export_clicked(self) -> None:
        start = str(Path(self.settings.folder("export")) / "style-path.gif")
        path, _ = QFileDialog.getSaveFileName(self, "Export path", start, "Animated GIF (*.gif);;MP4 video (*.mp4)")
        if path:
            self.settings.set_folder("export", path)
            self.export_path(Path(path))
