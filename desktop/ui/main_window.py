"""The main window: model / direction / provider pickers, the four workspaces, the Domains panel (models that
discover their domains) and the status bar."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop.runtime.paths import default_direction
from desktop.runtime.providers import AUTO, PROVIDERS, available_providers

from .about_model import AboutModelDialog
from .batch_tab import BatchTab
from .cluster_browser import ClusterBrowser
from .elided_label import ElidedLabel
from .file_tab import FileTab
from .live_tab import LiveTab
from .menu_bar import build_menus
from .mix_tab import MixTab
from .model_import import ModelImporter, is_bundle_path
from .session import ModelEntry, ModelSession
from .settings import Settings
from .tasks import TaskRunner


def _labelled(label: str, widget: QWidget) -> QWidget:
    """`widget` with its caption on the left, as one toolbar item (they overflow together)."""
    pair = QWidget()
    layout = QHBoxLayout(pair)
    layout.setContentsMargins(4, 0, 4, 0)
    layout.addWidget(QLabel(label))
    layout.addWidget(widget)
    return pair


class ModelBar(QToolBar):
    """Model picker with "Import bundle...", direction switch and provider picker. Each control is its own
    toolbar item, so on a narrow screen the last ones move into the toolbar's overflow menu instead of
    widening the window."""

    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__("Model", parent)
        self.setMovable(False)
        self.session = session
        self.model_combo = QComboBox()
        self.model_combo.setMinimumContentsLength(20)
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.import_button = QPushButton("Import bundle...")
        self.about_button = QPushButton("About model")
        self.direction_combo = QComboBox()
        self.direction_combo.setMinimumContentsLength(20)  # "any image -> fluffy cats"; longer names are elided
        self.direction_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.provider_combo = QComboBox()
        self.provider_combo.setMinimumContentsLength(21)  # "auto (best available)"; longer names are elided
        self.provider_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.provider_combo.addItem("auto (best available)", AUTO)
        available = available_providers()
        for name in PROVIDERS:  # unavailable ones stay pickable: the fallback and its reason are shown
            self.provider_combo.addItem(name if name in available else f"{name} (not in this build)", name)
        self.precision_combo = QComboBox()
        self.precision_combo.setToolTip("fp16 / int8 variants are smaller and often faster; fp32 is exact")
        self.provider_label = ElidedLabel()  # a fallback reason can be long: elided, whole text on hover
        for label, widget in (("Model", self.model_combo), (None, self.import_button), (None, self.about_button),
                              ("Direction", self.direction_combo), ("Provider", self.provider_combo),
                              ("Precision", self.precision_combo)):
            self.addWidget(_labelled(label, widget) if label else widget)
        self.addWidget(self.provider_label)

    def show_models(self, entries: list[ModelEntry], current: str) -> None:
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for entry in entries:
            self.model_combo.addItem(entry.label, entry.name)
            row = self.model_combo.count() - 1
            if entry.error is not None:
                item = self.model_combo.model().item(row)
                item.setEnabled(False)
                item.setToolTip(entry.error)
            else:
                self.model_combo.setItemData(row, str(entry.path), Qt.ItemDataRole.ToolTipRole)
        index = self.model_combo.findData(current)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)
        self.model_combo.blockSignals(False)

    def model_labels(self) -> list[str]:
        return [self.model_combo.itemText(i) for i in range(self.model_combo.count())]

    def show_directions(self) -> None:
        self.direction_combo.blockSignals(True)
        self.direction_combo.clear()
        for direction_id, label in self.session.entry.directions:
            self.direction_combo.addItem(label, direction_id)
        self.direction_combo.setCurrentIndex(max(self.direction_combo.findData(self.session.direction), 0))
        self.direction_combo.blockSignals(False)

    def show_precisions(self, translator) -> None:
        self.precision_combo.blockSignals(True)
        self.precision_combo.clear()
        self.precision_combo.addItems(translator.bundle.precisions())
        self.precision_combo.setCurrentText(translator.precision)
        self.precision_combo.blockSignals(False)

    def show_provider(self, translator) -> str:
        """Show what is really running and why it fell back; returns the status-bar text."""
        info = translator.provider_info
        text = f"running on {info.active}, {translator.precision}"
        if info.fallback_reason:
            text += f" (asked for {info.requested}: {info.fallback_reason})"
        if translator.precision_note:
            text += f" ({translator.precision_note})"
        self.provider_label.setText(text)
        return text


class MainWindow(QMainWindow):
    """Owns the session and the four workspaces; remembers its state in `settings`."""

    def __init__(self, settings: Settings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("i2i Studio")
        self.settings = settings or Settings()
        first_run = self.settings.first_run()  # read before the window remembers anything
        self.runner = TaskRunner(self)
        self.session = ModelSession(self.runner, self, self.settings)
        self.bar = ModelBar(self.session)
        self.importer = ModelImporter(self.session, self, self._import_report, self.session.open)
        self.setAcceptDrops(True)
        self.addToolBar(self.bar)

        self.live = LiveTab(self.session, self.settings)
        self.file = FileTab(self.session, self.runner, self.settings)
        self.mix = MixTab(self.session, self.runner, self.settings)
        self.batch = BatchTab(self.session, self.settings)
        self.tabs = QTabWidget()
        for widget, name in ((self.live, "Live"), (self.file, "File"), (self.mix, "Mix"), (self.batch, "Batch")):
            self.tabs.addTab(widget, name)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.setCentralWidget(central)
        self.domains = ClusterBrowser(self.session, self.runner, self.settings)
        self.domains_dock = QDockWidget("Domains", self)
        self.domains_dock.setObjectName("domains")
        self.domains_dock.setWidget(self.domains)
        self.domains_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable
                                      | QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.domains_dock)
        self.domains_dock.setVisible(False)  # until a model with discovered clusters opens
        self.actions = build_menus(self)

        self.model_status = ElidedLabel("no model")
        self.provider_status = ElidedLabel("")
        self.timing_status = QLabel("")
        for label, stretch in ((self.model_status, 1), (self.provider_status, 2), (self.timing_status, 0)):
            self.statusBar().addPermanentWidget(label, stretch)

        self._wire()
        self._restore()
        if first_run:  # open on a translation that works without a camera: the sample dogs, as cats
            self.tabs.setCurrentWidget(self.file)
            self.file.open_samples()

    # wiring -----------------------------------------------------------------------------------------
    def _wire(self) -> None:
        s, bar = self.session, self.bar
        s.modelsChanged.connect(self._models_changed)
        s.translatorChanged.connect(self._translator_changed)
        s.loadFailed.connect(self._load_failed)
        s.busyChanged.connect(lambda busy: busy and self.statusBar().showMessage("opening model..."))
        s.directionChanged.connect(self._direction_changed)
        s.timingReported.connect(lambda ms: self.timing_status.setText(f"{ms:.1f} ms/image" if ms < 10
                                                                       else f"{ms:.0f} ms/image"))
        bar.model_combo.currentIndexChanged.connect(self._model_picked)
        bar.direction_combo.currentIndexChanged.connect(
            lambda i: i >= 0 and s.set_direction(bar.direction_combo.itemData(i)))
        bar.provider_combo.currentIndexChanged.connect(self._provider_picked)
        bar.precision_combo.textActivated.connect(self._precision_picked)
        bar.import_button.clicked.connect(self._import_clicked)
        bar.about_button.clicked.connect(self.show_about_model)
        self.tabs.currentChanged.connect(self.settings.set_workspace)
        self.domains.clustersShown.connect(self.domains_dock.setVisible)
        self.file.imageShown.connect(lambda path, image: self.domains.classify(image, path.name))

    def _restore(self) -> None:
        geometry = self.settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1180, 760)
        provider = self.settings.provider()
        index = self.bar.provider_combo.findData(provider)
        self.bar.provider_combo.blockSignals(True)
        self.bar.provider_combo.setCurrentIndex(max(index, 0))
        self.bar.provider_combo.blockSignals(False)
        self.session.provider = self.bar.provider_combo.currentData()
        self.session.precision = self.settings.precision()
        self.tabs.setCurrentIndex(min(max(self.settings.workspace(), 0), self.tabs.count() - 1))
        self.session.refresh()
        entry = self.session.default_entry(self.settings.model())
        if entry is None:
            self.model_status.setText("no usable model: import a bundle")
            return
        self.bar.show_models(self.session.models, entry.name)
        self._open(entry)

    def _open(self, entry: ModelEntry) -> None:
        """Open a model in the direction the user last used with it (its default the first time)."""
        self.session.open(entry, direction=self.settings.direction(entry.name) or default_direction(entry.name))

    # slots ------------------------------------------------------------------------------------------
    def _models_changed(self, entries: list[ModelEntry]) -> None:
        """The list changed, or the user renamed a domain: the pickers show the new names."""
        self.bar.show_models(entries, self.session.entry.name if self.session.entry else "")
        if self.session.entry is not None:
            self.bar.show_directions()

    def _model_picked(self, index: int) -> None:
        entry = self.session.entry_named(self.bar.model_combo.itemData(index))
        if entry is not None:
            self._open(entry)

    def _provider_picked(self, index: int) -> None:
        provider = self.bar.provider_combo.itemData(index)
        self.settings.set_provider(provider)
        if self.session.entry is not None:
            self.session.open(self.session.entry, provider=provider, direction=self.session.direction)
        else:
            self.session.provider = provider

    def _precision_picked(self, precision: str) -> None:
        self.settings.set_precision(precision)
        if self.session.entry is not None and precision != self.session.translator.precision:
            self.session.open(self.session.entry, direction=self.session.direction, precision=precision)

    def _translator_changed(self, translator) -> None:
        entry = self.session.entry
        self.settings.set_model(entry.name)
        self.bar.show_models(self.session.models, entry.name)
        self.bar.show_directions()
        self.bar.show_precisions(translator)
        self.provider_status.setText(self.bar.show_provider(translator))
        self.model_status.setText(entry.label)
        self.setWindowTitle(f"i2i Studio - {entry.label}")
        self.model_status.setStyleSheet("color: #e65100;" if entry.untrained else "")
        self.statusBar().showMessage(f"opened {entry.label}", 4000)

    def _direction_changed(self, direction: str) -> None:
        if self.session.entry is not None:
            self.settings.set_direction(self.session.entry.name, direction)
        index = self.bar.direction_combo.findData(direction)
        if index >= 0 and index != self.bar.direction_combo.currentIndex():
            self.bar.direction_combo.setCurrentIndex(index)

    def _load_failed(self, message: str) -> None:
        self.statusBar().showMessage(message)
        self.bar.show_models(self.session.models, self.session.entry.name if self.session.entry else "")
        if self.isVisible():
            QMessageBox.warning(self, "Model", message)

    def show_about_model(self) -> AboutModelDialog | None:
        """Open the "About model" dialog of the open model (window-modal, not blocking the caller)."""
        translator = self.session.translator
        if translator is None:
            return None
        dialog = AboutModelDialog(translator.bundle, translator.provider_info, self,
                                  names=dict(self.session.entry.names))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _import_clicked(self) -> None:
        start = self.settings.folder("import")
        path, _ = QFileDialog.getOpenFileName(self, "Import bundle (.i2i or manifest.json)", start,
                                              "Bundles (*.i2i manifest.json)")
        if path:
            self.import_path(Path(path))

    def import_path(self, path: Path) -> None:
        """Import a `.i2i` file or a bundle folder (a manifest.json inside it) in the background, then open it;
        a name that is taken asks first (see model_import)."""
        self.settings.set_folder("import", path)
        self.importer.import_path(path)

    def _import_report(self, message: str, is_error: bool) -> None:
        self.statusBar().showMessage(message, 0 if is_error else 6000)
        if is_error and self.isVisible():
            QMessageBox.warning(self, "Import model", message)

    def open_dropped(self, paths: list[Path]) -> None:
        """Dropped files: bundles are imported, images open in the File workspace."""
        bundles = [p for p in paths if is_bundle_path(p)]
        images = [p for p in paths if p not in bundles]
        for path in bundles:
            self.import_path(path)
        if images:
            self.tabs.setCurrentWidget(self.file)
            self.file.open_paths(images)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self.open_dropped([Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()])
        event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.settings.set_geometry(self.saveGeometry())
        self.live.shutdown()
        self.batch.shutdown()
        self.runner.wait()
        self.settings.sync()
        super().closeEvent(event)
