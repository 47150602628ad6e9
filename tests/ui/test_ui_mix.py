"""Mix workspace with a real tiny MUNIT: anchors, weights and the decoder-only preview follow the handle
as it is dragged with the mouse; the blend reaches File; the path exports as a GIF."""
from __future__ import annotations

import cv2
import numpy as np
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from ui_support import install_models, make_settings, open_window


def _drag(view, start, end, steps=5):
    """Press at canvas position `start`, move in steps to `end`, release (real mouse events)."""
    points = [view.to_widget(start)] + [view.to_widget((start[0] + (end[0] - start[0]) * k / steps,
                                                        start[1] + (end[1] - start[1]) * k / steps))
                                        for k in range(1, steps + 1)]
    points = [QPoint(round(p.x()), round(p.y())) for p in points]
    QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
    for point in points[1:]:
        QTest.mouseMove(view, point)
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1])


def test_handle_drag_updates_weights_and_preview(qtbot, tmp_path, tiny_bundles, shared_data):
    install_models(tiny_bundles, families=("munit",))
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-munit"))
    tab = window.mix
    window.tabs.setCurrentWidget(tab)
    window.show()
    qtbot.waitExposed(window)
    tab.set_image(sorted((shared_data / "cat2dog" / "testA").glob("*.jpg"))[0])
    tab.add_typical()
    tab.add_random(seed=1)
    tab.add_reference(sorted((shared_data / "cat2dog" / "testB").glob("*.jpg"))[0])
    qtbot.waitUntil(lambda: len(tab.canvas.anchors) == 3 and tab.previews_shown > 0, timeout=20000)
    assert {a.kind for a in tab.canvas.anchors} == {"typical", "random", "reference"}
    assert tab.buttons["export"].isEnabled()

    typical = next(i for i, a in enumerate(tab.canvas.anchors) if a.kind == "typical")
    target = tab.canvas.anchors[typical].position
    shown = tab.previews_shown
    before_image = tab.preview.image().copy()
    before_weights = tab.weights()
    _drag(tab.view, tab.view.handle, target)
    assert tab.handle == tab.view.handle
    weights = tab.weights()
    assert abs(sum(weights) - 1) < 1e-6
    assert weights[typical] > before_weights[typical] and weights[typical] > 0.9
    assert f"{weights[typical] * 100:.0f}%" in tab.weights_label.text()
    qtbot.waitUntil(lambda: tab.previews_shown > shown and not tab._preview_busy, timeout=20000)
    after_image = tab.preview.image()
    assert after_image.shape == before_image.shape and not np.array_equal(after_image, before_image)
    # the preview is the decoder on the cached content: it equals decoding the blended code directly
    expected = tab.canvas.preview(tab.handle)
    assert np.array_equal(after_image, expected)

    tab.use_blend()
    panel = window.file.style_panel
    assert panel.buttons["blend"].isEnabled()
    panel.set_mode("blend")
    assert np.allclose(panel.style().code, tab.canvas.code_at(tab.handle))

    written = []
    random_anchor = next(i for i, a in enumerate(tab.canvas.anchors) if a.kind == "random")
    assert not tab.buttons["remove"].isEnabled()
    point = tab.view.to_widget(tab.canvas.anchors[random_anchor].position)
    qtbot.mouseClick(tab.view, Qt.MouseButton.LeftButton, pos=QPoint(round(point.x()), round(point.y())))
    assert tab.view.selected == random_anchor and tab.buttons["remove"].isEnabled()
    qtbot.mouseClick(tab.buttons["remove"], Qt.MouseButton.LeftButton)
    assert [a.kind for a in tab.canvas.anchors].count("random") == 0 and len(tab.canvas.anchors) == 2
    assert abs(sum(tab.weights()) - 1) < 1e-6

    tab.steps.setValue(6)
    tab.export_path(tmp_path / "path.gif", on_done=written.append)
    qtbot.waitUntil(lambda: len(written) == 1, timeout=20000)
    with Image.open(written[0]) as gif:
        assert gif.n_frames >= 6 and gif.size == (before_image.shape[1], before_image.shape[0])
    tab.export_path(tmp_path / "path.mp4", on_done=written.append)
    qtbot.waitUntil(lambda: len(written) == 2, timeout=20000)
    video = cv2.VideoCapture(str(written[1]))
    assert video.isOpened() and int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    video.release()


def test_mix_is_disabled_for_a_model_without_style(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles, families=("ugatit",))
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-ugatit"))
    assert window.mix.canvas is None
    assert "no style" in window.mix.message.text()
    assert not window.mix.buttons["typical"].isEnabled()
