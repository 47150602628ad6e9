"""The main window as a whole: it never outgrows the screen (long status text is elided, whole text in the
tooltip), its menu bar and shortcuts, and dropping a bundle on it."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtTest import QTest

from ui_support import install_models, make_settings, open_window, write_video

LONG_REASON = "CUDAExecutionProvider is not in this build of onnxruntime; " * 8


def _screen_width(window) -> int:
    screen = window.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry().width()


def test_a_long_provider_message_never_widens_the_window(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles, families=("ugatit",))
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-ugatit"))
    window.show()
    qtbot.waitExposed(window)
    width = _screen_width(window)
    window.resize(width - 40, 500)
    first = window.session.translator
    combo = window.bar.provider_combo
    combo.setCurrentIndex(combo.findData("cuda"))  # not in the CPU build used by the tests: a fallback message
    qtbot.waitUntil(lambda: window.session.translator is not first, timeout=20000)
    text = window.bar.provider_label.text() + " " + LONG_REASON  # longer than any screen is wide
    window.bar.provider_label.setText(text)
    window.provider_status.setText(text)
    window.model_status.setText(LONG_REASON)
    qtbot.wait(50)  # let the layouts settle
    assert window.minimumSizeHint().width() <= width and window.minimumWidth() <= width
    assert window.width() <= width
    for label in (window.bar.provider_label, window.provider_status):
        assert label.toolTip() == text and label.text() == text
        assert label.shown_text().endswith("…") and len(label.shown_text()) < len(text)


def test_menu_bar_has_the_usual_menus_and_shortcuts(qtbot, tmp_path, tiny_bundles):
    window = open_window(qtbot, make_settings(tmp_path))
    window.show()
    qtbot.waitExposed(window)
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus == ["File", "View", "Live", "Help"]
    actions = window.actions
    assert actions["open"].shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert actions["save"].shortcut() == QKeySequence(QKeySequence.StandardKey.Save)
    assert actions["quit"].shortcut() == QKeySequence(QKeySequence.StandardKey.Quit)
    assert actions["full_screen"].shortcut() == QKeySequence("F11")
    assert [actions[f"workspace_{i}"].shortcut().toString() for i in range(1, 5)] == [f"Ctrl+{i}" for i in range(1, 5)]
    window.activateWindow()
    qtbot.waitActive(window)
    for index in (3, 0, 1):
        QTest.keyClick(window.windowHandle(), Qt.Key.Key_1 + index, Qt.KeyboardModifier.ControlModifier)
        assert window.tabs.currentIndex() == index
    QTest.keyClick(window.windowHandle(), Qt.Key.Key_F11)
    assert window.isFullScreen() and actions["full_screen"].isChecked()
    actions["full_screen"].trigger()
    assert not window.isFullScreen()


def test_space_starts_live_only_in_the_live_workspace_and_never_while_typing(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles, families=("munit",))
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-munit"))
    window.show()
    window.activateWindow()
    qtbot.waitActive(window)
    live = window.live
    live.set_video(write_video(tmp_path / "clip.mp4"))
    presses = []
    live.start_button.toggled.connect(presses.append)
    space = lambda: QTest.keyClick(window.windowHandle(), Qt.Key.Key_Space)  # noqa: E731
    window.tabs.setCurrentWidget(window.file)
    space()
    assert presses == [] and not window.actions["live"].isEnabled()
    window.tabs.setCurrentWidget(live)
    live.style_panel.seed.setFocus()
    space()  # typing in a field: the field gets the key
    assert presses == [] and live.pipeline is None
    live.view.setFocus()
    space()
    assert presses == [True] and live.pipeline is not None
    qtbot.waitUntil(lambda: live.frames_shown >= 1, timeout=20000)
    space()
    assert presses == [True, False] and live.pipeline is None


def test_about_app_names_the_versions(qtbot, tmp_path):
    import onnxruntime
    import PySide6

    from desktop.ui.menu_bar import about_app_box

    window = open_window(qtbot, make_settings(tmp_path))
    box = about_app_box(window)
    text = box.text()
    assert f"onnxruntime {onnxruntime.__version__}" in text and f"PySide6 {PySide6.__version__}" in text
    assert "Python 3." in text and "providers: " in text and "CPUExecutionProvider" in text or "cpu" in text
    assert box.textFormat() == Qt.TextFormat.PlainText


def test_documentation_opens_the_local_docs_folder(qtbot, tmp_path, monkeypatch):
    from desktop.ui import menu_bar

    opened = []
    monkeypatch.setattr(menu_bar.QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    window = open_window(qtbot, make_settings(tmp_path))
    window.actions["docs"].trigger()
    assert len(opened) == 1 and opened[0].isLocalFile()
    assert (Path(opened[0].toLocalFile()) / "app.md").is_file()
