"""Importing a model whose name is taken asks "Replace / Keep both / Cancel" (no Replace for a shipped model,
which always stays reachable), and dropping a `.i2i` on the window imports it through the same flow."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop.runtime.paths import default_model_name, shipped_models_dir, user_models_dir
from desktop.ui.model_import import CANCEL, KEEP_BOTH, REPLACE

from ui_support import install_models, make_settings, open_window


def answer_next_question(answer: str, offered: list[list[str]]) -> None:
    """When the next modal message box opens, note the answers it offers and click `answer`."""
    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        offered.append(sorted(b.property("answer") for b in box.buttons()))
        next(b for b in box.buttons() if b.property("answer") == answer).click()

    QTimer.singleShot(0, click)


def renamed_copy(folder: Path, target: Path, name: str) -> Path:
    """A copy of a tiny bundle whose manifest says `name` (the manifest is not among the hashed files)."""
    shutil.copytree(folder, target)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    manifest["name"] = name
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return target


def wait_for_entry(qtbot, window, name: str) -> None:
    qtbot.waitUntil(lambda: window.session.entry is not None and window.session.entry.name == name, timeout=20000)


def test_a_bundle_named_like_the_shipped_default_is_kept_beside_it(qtbot, tmp_path, tiny_bundles):
    default = default_model_name()
    window = open_window(qtbot, make_settings(tmp_path))
    clash = renamed_copy(tiny_bundles["ugatit"], tmp_path / "my-export", default)
    offered: list[list[str]] = []
    answer_next_question(KEEP_BOTH, offered)
    window.import_path(clash)
    wait_for_entry(qtbot, window, f"{default}-2")
    assert offered == [sorted([KEEP_BOTH, CANCEL])]  # no Replace for a shipped model
    combo = window.bar.model_combo
    shipped_row, imported_row = combo.findData(default), combo.findData(f"{default}-2")
    assert shipped_row >= 0 and imported_row >= 0
    assert window.session.entry_named(default).path.parent == shipped_models_dir()
    assert combo.itemText(imported_row).endswith("(imported)") and "(imported)" not in combo.itemText(shipped_row)
    assert (user_models_dir() / f"{default}-2" / "manifest.json").is_file()
    assert not (user_models_dir() / default).exists()


def test_a_name_clash_with_an_imported_model_can_replace_it_or_cancel(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles, families=("munit",))
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-munit"))
    newer = renamed_copy(tiny_bundles["ugatit"], tmp_path / "newer", "tiny-munit")  # a U-GAT-IT, same name
    offered: list[list[str]] = []
    answer_next_question(CANCEL, offered)
    window.import_path(newer)
    qtbot.waitUntil(lambda: "not imported" in window.statusBar().currentMessage(), timeout=20000)
    assert offered == [sorted([REPLACE, KEEP_BOTH, CANCEL])]
    assert window.session.entry_named("tiny-munit").has_style  # still the MUNIT
    first = window.session.translator
    answer_next_question(REPLACE, offered)
    window.import_path(newer)
    qtbot.waitUntil(lambda: window.session.translator is not first and window.session.translator is not None,
                    timeout=20000)
    assert not window.session.entry_named("tiny-munit").has_style  # now the U-GAT-IT
    assert sorted(p.name for p in user_models_dir().iterdir()) == ["broken-model", "tiny-munit"]


def _event(kind, paths: list[Path]):
    """A drag-enter or drop event carrying `paths` (keep the QMimeData alive as long as the event)."""
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPoint(10, 10) if kind is QDragEnterEvent else QPointF(10, 10)  # as Qt's own signatures
    return kind(pos, Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                Qt.KeyboardModifier.NoModifier), data


def _drop(widget, paths: list[Path]) -> None:
    """Drag `paths` onto `widget` and drop them: Qt delivers a drop only to the widget (or the parent) that
    accepted the drag's enter, as in a real drag."""
    enter, _data = _event(QDragEnterEvent, paths)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop, _data = _event(QDropEvent, paths)
    QApplication.sendEvent(widget, drop)


def test_dropping_a_bundle_on_the_window_imports_it(qtbot, tmp_path, tiny_archives, shared_data):
    window = open_window(qtbot, make_settings(tmp_path))
    archive = tiny_archives["ugatit"]
    enter, _data = _event(QDragEnterEvent, [archive])
    window.file.dragEnterEvent(enter)
    assert not enter.isAccepted()  # the File workspace leaves a bundle to the window
    _drop(window.file, [archive])  # dropped over the File workspace, taken by the window
    wait_for_entry(qtbot, window, "tiny-ugatit")
    assert (user_models_dir() / "tiny-ugatit" / "manifest.json").is_file()
    assert "not an image" not in window.file.message.text()
    photo = next((shared_data / "cat2dog" / "testA").glob("*.jpg"))
    window.tabs.setCurrentWidget(window.batch)
    _drop(window, [photo])  # an image dropped on the window opens in the File workspace
    assert window.tabs.currentWidget() is window.file
    assert window.file.files.item(window.file.files.count() - 1).text() == photo.name
