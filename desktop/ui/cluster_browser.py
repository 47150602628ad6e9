"""The Domains panel: the clusters a model discovered without labels (TUNIT), each with its most typical training
images, its size and a name the user can change; choosing one makes it the target of every workspace, and an
image (the File workspace's, or one picked here) shows how likely it belongs to each cluster."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.runtime.clusters import ClusterInfo
from i2i_common.images import read_image

from .file_tab import IMAGE_FILTER
from .image_view import to_qimage
from .session import ModelSession
from .settings import Settings
from .tasks import TaskRunner

THUMB = 44  # px an exemplar is shown at
NO_CLUSTERS = ("The open model translates between fixed domains. Models that discover their domains without "
               "labels (TUNIT) list their clusters here.")


def size_text(size: int | None, total: int) -> str:
    """"12 images (30%)" of the `total` the export rated; "size not recorded" for bundles without sizes."""
    if size is None:
        return "size not recorded"
    share = f" ({size / total:.0%})" if total else ""
    return f"{size} image{'' if size == 1 else 's'}{share}"


class ClusterRow(QFrame):
    """One cluster: the target button, its name (editable), size, exemplars and, once an image was classified,
    the probability that the image belongs to it."""

    chosen = Signal()

    def __init__(self, cluster: ClusterInfo, total: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cluster = cluster
        self.setObjectName("cluster")
        self.target = QRadioButton()
        self.target.setToolTip("translate towards this cluster (the direction of every workspace)")
        self.name = QLineEdit()
        self.name.setMaxLength(64)
        self.name.setPlaceholderText(cluster.name)
        self.name.setToolTip(f"your name for {cluster.id} ({cluster.name} in the bundle); empty gives that back")
        self.size = QLabel(size_text(cluster.size, total))
        self.thumbs: list[QLabel] = []
        strip = QHBoxLayout()
        strip.setSpacing(2)
        for image in cluster.exemplars:
            thumb = QLabel()
            thumb.setPixmap(QPixmap.fromImage(to_qimage(image)).scaled(
                THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))
            thumb.setToolTip(f"a training image typical of {cluster.name}")
            strip.addWidget(thumb)
            self.thumbs.append(thumb)
        if not self.thumbs:
            strip.addWidget(QLabel("no exemplar images" if cluster.size != 0 else "no training image fell here"))
        strip.addStretch(1)
        self.probability = QProgressBar()
        self.probability.setRange(0, 1000)
        self.probability.setTextVisible(False)
        self.probability.setMaximumHeight(12)
        self.percent = QLabel()
        for widget in (self.probability, self.percent):
            widget.setVisible(False)
        for label, widest in ((self.size, "99999 images (100%)"), (self.percent, "100%")):  # rows line up
            label.setMinimumWidth(label.fontMetrics().horizontalAdvance(widest))
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setVerticalSpacing(3)
        grid.addWidget(self.target, 0, 0)
        grid.addWidget(self.name, 0, 1)
        grid.addWidget(self.size, 0, 2)
        grid.addLayout(strip, 1, 1, 1, 2)
        grid.addWidget(self.probability, 2, 1)
        grid.addWidget(self.percent, 2, 2)
        grid.setColumnStretch(1, 1)
        self.target.toggled.connect(lambda on: on and self.chosen.emit())
        self.mark(False)

    def mark(self, target: bool) -> None:
        """Show whether this cluster is the target (checked button, highlighted frame)."""
        self.target.blockSignals(True)
        self.target.setChecked(target)
        self.target.blockSignals(False)
        colour, width = ("palette(highlight)", 2) if target else ("palette(mid)", 1)
        self.setStyleSheet(f"QFrame#cluster {{ border: {width}px solid {colour}; border-radius: 4px; }}")

    def show_probability(self, probability: float | None, best: bool = False) -> None:
        """The bar and percentage of an image's probability of this cluster (hidden for None), bold for the
        most likely cluster."""
        for widget in (self.probability, self.percent):
            widget.setVisible(probability is not None)
        if probability is not None:
            self.probability.setValue(round(probability * 1000))
            self.percent.setText(f"<b>{probability:.0%}</b>" if best else f"{probability:.0%}")

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt name)
        """A click anywhere on the row (its thumbnails included) chooses the cluster."""
        self.chosen.emit()
        super().mousePressEvent(event)


class ClusterBrowser(QWidget):
    """Lists the open model's clusters (:attr:`rows`, in logit order) and follows the session's direction and
    names. `clustersShown(bool)` says whether the open model has clusters (the window shows or hides the panel)."""

    clustersShown = Signal(bool)

    def __init__(self, session: ModelSession, runner: TaskRunner, settings: Settings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.runner, self.settings = session, runner, settings
        self.rows: list[ClusterRow] = []
        self.probabilities: np.ndarray | None = None  # float32 [K] of the last image classified
        self.header = QLabel(NO_CLUSTERS)
        self.header.setWordWrap(True)
        self._list = QVBoxLayout()
        self._list.setSpacing(4)
        holder = QWidget()
        outer = QVBoxLayout(holder)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(self._list)
        outer.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(holder)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.classify_button = QPushButton("Which cluster is an image?...")
        self.classify_button.setToolTip("rate an image with the model's guiding network (File's images are rated "
                                        "as they open)")
        self.result = QLabel("")
        self.result.setWordWrap(True)
        for label in (self.header, self.result):  # they quote the user's names: never rich text
            label.setTextFormat(Qt.TextFormat.PlainText)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.classify_button)
        layout.addWidget(self.result)
        self.classify_button.clicked.connect(self._classify_clicked)
        session.translatorChanged.connect(self._translator_changed)
        session.directionChanged.connect(lambda _d: self._mark_target())
        session.modelsChanged.connect(lambda _m: self._show_names())
        self._translator_changed(session.translator)

    # the model's clusters -------------------------------------------------------------------------------
    def _translator_changed(self, translator) -> None:
        for row in self.rows:
            self._list.removeWidget(row)
            row.deleteLater()
        self.rows, self.probabilities = [], None
        self.result.setText("")
        has_clusters = translator is not None and translator.capabilities.clusters_as_domains
        self.classify_button.setEnabled(has_clusters)
        if not has_clusters:
            self.header.setText(NO_CLUSTERS)
            self.clustersShown.emit(False)
            return
        clusters: list[ClusterInfo] = translator.clusters
        sizes = [c.size for c in clusters if c.size is not None]
        total = sum(sizes)
        self.header.setText(f"{len(clusters)} clusters found without labels"
                            + (f" among {total} training images. " if sizes else ". ")
                            + "Choose one as the target; name them as you like.")
        for cluster in clusters:
            row = ClusterRow(cluster, total)
            row.chosen.connect(lambda index=cluster.index: self.choose(index))
            row.name.editingFinished.connect(lambda index=cluster.index: self._renamed(index))
            self._list.addWidget(row)
            self.rows.append(row)
        self._show_names()
        self._mark_target()
        self._fit_rows()
        self.clustersShown.emit(True)

    def _fit_rows(self) -> None:
        """Make the list as wide as its widest row (six thumbnails, the size), so the panel never cuts them off;
        rows scroll vertically only."""
        widest = max(row.sizeHint().width() for row in self.rows)
        margins = self.scroll.widget().layout().contentsMargins()
        self.scroll.setMinimumWidth(widest + margins.left() + margins.right() + 2 * self.scroll.frameWidth()
                                    + self.scroll.verticalScrollBar().sizeHint().width())

    def _show_names(self) -> None:
        entry = self.session.entry
        for row in self.rows:
            if entry is not None and not row.name.hasFocus():
                row.name.setText(entry.domain_name(row.cluster.id))

    def _mark_target(self) -> None:
        target = self._target_of(self.session.direction)
        for row in self.rows:
            row.mark(row.cluster.id == target)

    def _target_of(self, direction_id: str) -> str | None:
        translator = self.session.translator
        if translator is None:
            return None
        return next((d.target for d in translator.bundle.directions if d.id == direction_id), None)

    def target_index(self) -> int | None:
        """The index of the cluster the session translates towards (None without clusters)."""
        target = self._target_of(self.session.direction)
        return next((row.cluster.index for row in self.rows if row.cluster.id == target), None)

    def choose(self, index: int) -> None:
        """Make cluster `index` the target: the session's direction towards it, which every workspace follows."""
        cluster = self.rows[index].cluster
        direction = next(d.id for d in self.session.translator.bundle.directions if d.target == cluster.id)
        self.session.set_direction(direction)
        self._mark_target()  # also when it was the target already (the button was clicked again)

    def rename(self, index: int, name: str) -> None:
        """Call cluster `index` `name` (remembered for this bundle; "" gives back the bundle's name)."""
        cluster = self.rows[index].cluster
        self.session.rename_domain(cluster.id, "" if name.strip() == cluster.name else name)

    def _renamed(self, index: int) -> None:
        row = self.rows[index]
        self.rename(index, row.name.text())
        row.name.setText(self.session.entry.domain_name(row.cluster.id))  # cleaned, or the bundle's name back

    # which cluster an image belongs to ------------------------------------------------------------------
    def classify(self, image: np.ndarray, label: str) -> None:
        """Rate `image` (uint8 RGB) in the background; the rows then show a probability each."""
        translator = self.session.translator
        if not self.rows or translator is None:
            return
        self.result.setText(f"rating {label}...")
        rgb = image[..., :3]
        self.runner.submit(lambda: translator.classify(rgb),
                           lambda probabilities: self._classified(translator, label, probabilities),
                           lambda message: self.result.setText(f"cannot rate {label}: {message}"),
                           latest_only="classify")

    def classify_path(self, path: Path) -> None:
        """Read the image at `path` in the background, then :meth:`classify` it."""
        self.result.setText(f"reading {path.name}...")
        self.runner.submit(lambda: read_image(path)[..., :3], lambda image: self.classify(image, path.name),
                           lambda message: self.result.setText(f"cannot open {path.name}: {message}"),
                           latest_only="classify-read")

    def _classified(self, translator, label: str, probabilities: np.ndarray) -> None:
        if translator is not self.session.translator:  # another model opened meanwhile
            return
        self.probabilities = probabilities
        best = int(np.argmax(probabilities))
        for row, p in zip(self.rows, probabilities, strict=True):
            row.show_probability(float(p), best=row.cluster.index == best)
        name = self.session.entry.domain_name(self.rows[best].cluster.id)
        self.result.setText(f"{label}: most likely {name} ({probabilities[best]:.0%})")

    def _classify_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Which cluster is this image?", self.settings.folder("open"),
                                              IMAGE_FILTER)
        if path:
            self.classify_path(Path(path))
