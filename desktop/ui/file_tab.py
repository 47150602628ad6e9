"""File workspace: open or drop images, compare before/after, pick among random styles, see the attention
map, save (with the attention map beside each result)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.runtime.attention import attention_path, save_attention
from desktop.runtime.samples import sample_images, samples_of
from i2i_common.images import IMAGE_EXTENSIONS, read_image, write_image

from .attention_controls import AttentionControls
from .image_view import CompareView, ImageView, link_split_slider
from .session import ModelSession
from .settings import Settings
from .style_panel import StylePanel
from .tasks import TaskRunner

THUMB_SIZE = 90  # px, the style thumbnails under the comparison view
IMAGE_FILTER = "Images (" + " ".join(f"*{ext}" for ext in sorted(IMAGE_EXTENSIONS)) + ")"


@dataclass
class Output:
    """One translated result and a short description of the style that made it."""

    image: np.ndarray
    label: str
    heatmap: np.ndarray | None = None  # U-GAT-IT's attention, [0, 1], the image's height and width


def unique_path(path: Path, with_attention: bool = False) -> Path:
    """`path`, or `stem-2.ext`, `stem-3.ext`... whichever does not exist yet (never overwrite); with
    `with_attention`, the name of its attention map must be free too."""
    candidate, n = path, 1
    while candidate.exists() or (with_attention and attention_path(candidate).exists()):
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


class FileTab(QWidget):
    """Translating still images. Public methods mirror the buttons so tests and scripts can drive it.
    `imageShown(path, image)` says which image it now shows (the Domains panel rates it)."""

    imageShown = Signal(object, object)

    def __init__(self, session: ModelSession, runner: TaskRunner, settings: Settings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.runner, self.settings = session, runner, settings
        self.setAcceptDrops(True)
        self.source: np.ndarray | None = None
        self.source_path: Path | None = None
        self.outputs: list[Output] = []
        self.selected = 0

        self.open_button = QPushButton("Open images...")
        self.samples_button = QPushButton("Samples")
        self.samples_button.setToolTip("Open the shipped sample images of the current source domain")
        self._samples_pending = False
        self.files = QListWidget()
        self.style_panel = StylePanel(session, settings)
        self.count = QSpinBox()
        self.count.setRange(1, 12)
        self.count.setValue(6)
        self.save_selected_button = QPushButton("Save selected...")
        self.save_all_button = QPushButton("Save all...")
        self.message = QLabel("Open images or drop them here.")
        self.message.setWordWrap(True)

        self.compare = CompareView("Open images or drop them here")
        self.view_mode = QComboBox()
        for mode, text in (("split", "Split"), ("side", "Side by side"), ("output", "Output only")):
            self.view_mode.addItem(text, mode)
        self.split_slider = QSlider(Qt.Orientation.Horizontal)
        self.attention = AttentionControls(settings)
        self.grid = QGridLayout()
        self.thumbs: list[ImageView] = []

        left = QVBoxLayout()
        open_row = QHBoxLayout()
        open_row.addWidget(self.open_button, 1)
        open_row.addWidget(self.samples_button)
        left.addLayout(open_row)
        left.addWidget(self.files, 1)
        left.addWidget(self.style_panel)
        left.addWidget(self.attention)
        row = QHBoxLayout()
        row.addWidget(QLabel("random styles"))
        row.addWidget(self.count)
        left.addLayout(row)
        left.addWidget(self.save_selected_button)
        left.addWidget(self.save_all_button)
        left.addWidget(self.message)
        left_widget = QWidget()
        left_widget.setLayout(left)
        left_widget.setMaximumWidth(380)

        view_row = QHBoxLayout()
        view_row.addWidget(QLabel("View"))
        view_row.addWidget(self.view_mode)
        view_row.addWidget(QLabel("before | after"))
        view_row.addWidget(self.split_slider, 1)
        right = QVBoxLayout()
        right.addWidget(self.compare, 1)
        right.addLayout(view_row)
        grid_widget = QWidget()
        grid_widget.setLayout(self.grid)
        self.grid_scroll = QScrollArea()  # many styles scroll sideways instead of widening the window
        self.grid_scroll.setWidget(grid_widget)
        self.grid_scroll.setWidgetResizable(True)
        self.grid_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.grid_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.grid_scroll.setFixedHeight(THUMB_SIZE + 20 + self.grid_scroll.horizontalScrollBar().sizeHint().height())
        self.grid_scroll.setVisible(False)
        right.addWidget(self.grid_scroll)
        right_widget = QWidget()
        right_widget.setLayout(right)
        splitter = QSplitter()
        splitter.addWidget(left_widget)
        splitter.addWidget(right_widget)
        splitter.setStretchFactor(1, 1)
        QHBoxLayout(self).addWidget(splitter)

        self.open_button.clicked.connect(self._open_clicked)
        self.samples_button.clicked.connect(self.open_samples)
        self.files.currentItemChanged.connect(self._file_selected)
        self.style_panel.changed.connect(self.translate)
        self.count.valueChanged.connect(lambda _v: self.translate())
        self.save_selected_button.clicked.connect(self._save_selected_clicked)
        self.save_all_button.clicked.connect(self._save_all_clicked)
        self.view_mode.currentIndexChanged.connect(lambda i: self.compare.set_mode(self.view_mode.itemData(i)))
        link_split_slider(self.compare, self.split_slider)
        self.attention.changed.connect(lambda: self.select(self.selected))
        session.translatorChanged.connect(self._translator_changed)
        session.directionChanged.connect(lambda _d: self.translate())
        self._update_buttons()

    # input ------------------------------------------------------------------------------------------
    def open_paths(self, paths: list[Path]) -> None:
        """Add images to the list and show the first one added."""
        first = None
        for path in paths:
            path = Path(path)
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                self.message.setText(f"skipped {path.name}: not an image file")
                continue
            item = QListWidgetItem(path.name)
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            item.setToolTip(str(path))
            self.files.addItem(item)
            first = first or item
        if first is not None:
            self.settings.set_folder("open", Path(first.data(Qt.ItemDataRole.UserRole)))
            self.files.setCurrentItem(first)

    def open_samples(self) -> None:
        """Open the shipped samples of the current source domain (all of them when none match); waits for
        the model when none is open yet, since the direction decides which samples fit."""
        if self.session.translator is None:
            self._samples_pending = True
            return
        self._samples_pending = False
        samples = samples_of(self.session.source_domain()) or sample_images()
        if samples:
            self.open_paths(samples)
        else:
            self.message.setText("no sample images are installed")

    def _open_clicked(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", self.settings.folder("open"), IMAGE_FILTER)
        self.open_paths([Path(p) for p in paths])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        """Images are taken here; anything else (a model bundle) is left to the window."""
        if event.mimeData().hasUrls() and all(Path(u.toLocalFile()).suffix.lower() in IMAGE_EXTENSIONS
                                              for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self.open_paths([Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()])
        event.acceptProposedAction()

    def _file_selected(self, item: QListWidgetItem | None, _previous=None) -> None:
        """Read the chosen file off the UI thread (large photos take a while to decode), then translate it."""
        if item is None:
            return
        path = Path(item.data(Qt.ItemDataRole.UserRole))
        self.message.setText(f"reading {path.name}...")

        def failed(reason: str) -> None:  # ImageReadError, OSError: one line, the list stays usable
            self.source, self.source_path, self.outputs = None, None, []
            self.compare.set_images(None, None)
            self.compare.set_placeholder(f"{path.name}: {reason}")
            self.message.setText(f"cannot open {path.name}: {reason}")
            self._show_grid()
            self._update_buttons()

        self.runner.submit(lambda: read_image(path), lambda image: self._show_source(path, image), failed,
                           latest_only="file-read")

    def _show_source(self, path: Path, image: np.ndarray) -> None:
        self.source, self.source_path, self.outputs = image, path, []
        self._show_grid()
        self._update_buttons()
        self.compare.set_images(image, None)
        self.imageShown.emit(path, image)
        self.translate()

    # translation ------------------------------------------------------------------------------------
    def _translator_changed(self, _translator) -> None:
        """Enable what the new model supports, then show its samples (if asked for) or re-translate."""
        self._update_buttons()
        if self._samples_pending:
            self.open_samples()
        else:
            self.translate()

    def translate(self) -> None:
        """Re-run the translation of the current image in the background (newest request wins)."""
        translator, direction = self.session.translator, self.session.direction
        if translator is None or self.source is None:
            return
        image = self.source
        can = translator.capabilities
        n = self.count.value() if can.random_styles and self.style_panel.mode() == "random" else 1
        styles = [self.style_panel.style(i) for i in range(n)]
        labels = [self.style_panel.describe(i) if can.styles else "no style" for i in range(n)]
        self.message.setText(f"translating {self.source_path.name}...")

        def work() -> list[tuple[Output, float]]:
            results = translator.translate_many(image, direction, styles)  # the input is encoded once
            return [(Output(res.image, label, res.heatmap), res.total_ms)
                    for res, label in zip(results, labels, strict=True)]

        self.runner.submit(work, lambda results: self._translated(image, results), self._failed,
                           latest_only="file")

    def _translated(self, image: np.ndarray, results: list[tuple[Output, float]]) -> None:
        if image is not self.source:  # another file was opened meanwhile
            return
        self.outputs = [output for output, _ms in results]
        self.selected = min(self.selected, len(self.outputs) - 1)
        self.session.report_timing(sum(ms for _o, ms in results) / len(results))
        self.message.setText(f"{self.source_path.name}: {len(self.outputs)} result(s)")
        self._show_grid()
        self.select(self.selected)

    def _failed(self, message: str) -> None:
        self.message.setText(f"translation failed: {message}")

    def _show_grid(self) -> None:
        for thumb in self.thumbs:
            self.grid.removeWidget(thumb)
            thumb.deleteLater()
        self.thumbs = []
        self.grid_scroll.setVisible(len(self.outputs) >= 2)
        if len(self.outputs) < 2:
            return
        for i, output in enumerate(self.outputs):
            thumb = ImageView()
            thumb.setMinimumSize(THUMB_SIZE, THUMB_SIZE)
            thumb.set_image(output.image)
            thumb.setToolTip(output.label)
            thumb.clicked.connect(lambda i=i: self.select(i))
            self.grid.addWidget(thumb, 0, i)
            self.thumbs.append(thumb)

    def select(self, index: int) -> None:
        """Show output `index` in the comparison view and mark it as the one "Save selected" writes."""
        if not self.outputs:
            return
        self.selected = index
        for i, thumb in enumerate(self.thumbs):
            thumb.set_selected(i == index)
        output = self.outputs[index]
        self._update_buttons()  # first: the attention controls must know this output has a map
        self.compare.set_images(self.source, self.attention.apply(output.image, output.heatmap))

    # saving -----------------------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        translator = self.session.translator
        self.count.setEnabled(translator is not None and translator.capabilities.random_styles)
        self.attention.set_available(any(o.heatmap is not None for o in self.outputs))
        self.save_selected_button.setEnabled(bool(self.outputs))
        self.save_all_button.setEnabled(bool(self.outputs))

    def default_name(self, index: int) -> str:
        suffix = f"_{index + 1}" if len(self.outputs) > 1 else ""
        return f"{self.source_path.stem}_{self.session.direction}{suffix}.png"

    def _write(self, path: Path, output: Output, overwrite: bool) -> list[Path]:
        """Write one output, and its attention map beside it when it has one (``<stem>.attention.png``)."""
        written = [write_image(path, output.image, overwrite=overwrite)]
        if output.heatmap is not None:
            written.append(save_attention(path, output.heatmap, self.attention.colours(), overwrite=overwrite))
        return written

    def save_selected(self, path: Path, overwrite: bool = False) -> list[Path]:
        """Write the selected output to `path` and its attention map beside it, if any (atomic; refuses an
        existing file unless `overwrite`). The paths written."""
        written = self._write(path, self.outputs[self.selected], overwrite)
        self.settings.set_folder("save", path)
        self.message.setText("saved " + " and ".join(p.name for p in written))
        return written

    def save_all(self, folder: Path) -> list[Path]:
        """Write every output (and attention map) into `folder`, numbering names that already exist instead of
        overwriting. The paths written."""
        written = []
        for i, output in enumerate(self.outputs):
            target = unique_path(folder / self.default_name(i), with_attention=output.heatmap is not None)
            written += self._write(target, output, overwrite=False)
        self.settings.set_folder("save", folder)
        self.message.setText(f"saved {len(written)} image(s) to {folder}")
        return written

    def _save_selected_clicked(self) -> None:
        start = str(Path(self.settings.folder("save")) / self.default_name(self.selected))
        path, _ = QFileDialog.getSaveFileName(self, "Save output", start, IMAGE_FILTER)
        if path:  # the dialog already asked before replacing an existing file
            self._report_save(lambda: self.save_selected(Path(path), overwrite=True))

    def _save_all_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save all outputs to", self.settings.folder("save"))
        if folder:
            self._report_save(lambda: self.save_all(Path(folder)))

    def _report_save(self, save) -> None:
        try:
            save()
        except Exception as exc:  # read-only or full folder: say so, keep the outputs
            self.message.setText(f"not saved: {exc}")
            QMessageBox.warning(self, "Save", f"not saved: {exc}")
