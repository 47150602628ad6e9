"""The main window as a whole: it never outgrows the screen (long status text is elided, whole text in the
tooltip), its menu bar and shortcuts, and dropping a bundle on it."""
from __future__ import annotations

from PySide6.QtGui import QGuiApplication

from ui_support import install_models, make_settings, open_window

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
