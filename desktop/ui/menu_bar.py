"""The main window's menu bar and its shortcuts: File (open, import, save, quit), View (full screen, the
Domains panel, the four workspaces), Live (start/stop on Space, only while the Live workspace is shown) and
Help (about the app with its versions, about the model, the local documentation). Actions drive the same buttons the
workspaces show, so a disabled button means a disabled action's effect too."""
from __future__ import annotations

import platform
from pathlib import Path

import onnxruntime as ort
import PySide6
from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMessageBox

import desktop
from desktop.runtime.providers import available_providers

DOCS_DIR = Path(desktop.__file__).resolve().parents[1] / "docs"


def about_app_text() -> str:
    """App, Python, Qt and onnxruntime versions and the execution providers this build has."""
    return "\n".join([f"i2i Studio {desktop.__version__}",
                      "Image-to-image translation with ONNX model bundles.", "",
                      f"Python {platform.python_version()}",
                      f"Qt {qVersion()} (PySide6 {PySide6.__version__})",
                      f"onnxruntime {ort.__version__}",
                      f"providers: {', '.join(available_providers())}"])


def open_documentation(window: QMainWindow) -> bool:
    """Open the local docs folder in the file browser; say so when it is not installed."""
    if DOCS_DIR.is_dir() and QDesktopServices.openUrl(QUrl.fromLocalFile(str(DOCS_DIR))):
        return True
    window.statusBar().showMessage(f"documentation not found at {DOCS_DIR}: see README.md", 8000)
    return False


def _action(window: QMainWindow, text: str, slot, *shortcuts) -> QAction:
    action = QAction(text, window)
    if shortcuts:
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
    action.triggered.connect(lambda _checked=False: slot())
    return action


def build_menus(window) -> dict[str, QAction]:
    """Fill `window.menuBar()`; returns the actions by name (tests and the window use them)."""
    file, live, mix, tabs = window.file, window.live, window.mix, window.tabs

    def open_images() -> None:
        tabs.setCurrentWidget(file)
        file.open_button.click()

    def save_result() -> None:
        """Save what the shown workspace made: File's selected output, a Live snapshot, the Mix export."""
        button = {file: file.save_selected_button, live: live.snapshot_button,
                  mix: mix.buttons["export"]}.get(tabs.currentWidget())
        if button is not None and button.isEnabled():
            button.click()
        else:
            window.statusBar().showMessage("nothing to save here yet", 4000)

    def full_screen(on: bool) -> None:
        window.showFullScreen() if on else window.showNormal()

    actions = {
        "open": _action(window, "&Open images...", open_images, QKeySequence.StandardKey.Open),
        "import": _action(window, "&Import model...", window.bar.import_button.click),
        "save": _action(window, "&Save result...", save_result, QKeySequence.StandardKey.Save),
        "quit": _action(window, "&Quit", window.close, QKeySequence.StandardKey.Quit),
        "full_screen": _action(window, "&Full screen", lambda: None, "F11"),
        "live": _action(window, "&Start / stop", live.start_button.click, "Space"),
        "about_app": _action(window, "&About i2i Studio", lambda: about_app_box(window).open()),
        "about_model": _action(window, "About &model", window.show_about_model),
        "docs": _action(window, "&Documentation", lambda: open_documentation(window)),
    }
    actions["full_screen"].setCheckable(True)
    actions["full_screen"].toggled.connect(full_screen)
    # Space acts only while Live is shown; a focused text field takes the key before any shortcut
    actions["live"].setEnabled(tabs.currentWidget() is live)
    tabs.currentChanged.connect(lambda _i: actions["live"].setEnabled(tabs.currentWidget() is live))

    bar = window.menuBar()
    menu = bar.addMenu("&File")
    menu.addActions([actions["open"], actions["import"], actions["save"]])
    menu.addSeparator()
    menu.addAction(actions["quit"])
    menu = bar.addMenu("&View")
    menu.addAction(actions["full_screen"])
    actions["domains"] = window.domains_dock.toggleViewAction()  # shown by itself for models with clusters
    menu.addAction(actions["domains"])
    menu.addSeparator()
    for index in range(tabs.count()):
        name = f"workspace_{index + 1}"
        actions[name] = _action(window, tabs.tabText(index), lambda i=index: tabs.setCurrentIndex(i),
                                f"Ctrl+{index + 1}")
        menu.addAction(actions[name])
    bar.addMenu("&Live").addAction(actions["live"])
    menu = bar.addMenu("&Help")
    menu.addActions([actions["about_app"], actions["about_model"], actions["docs"]])
    return actions


def about_app_box(window) -> QMessageBox:
    """The "About i2i Studio" box (plain text)."""
    box = QMessageBox(QMessageBox.Icon.Information, "About i2i Studio", about_app_text(),
                      QMessageBox.StandardButton.Ok, window)
    box.setTextFormat(Qt.TextFormat.PlainText)
    return box
