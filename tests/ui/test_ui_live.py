"""Live workspace on a generated video file with a real tiny MUNIT: frames reach the views with the
FPS overlay, snapshot and MP4 recording work, stop is clean; a camera that cannot open leaves it usable."""
from __future__ import annotations

import re
import threading

import cv2
import numpy as np
from PySide6.QtCore import Qt

from desktop.runtime.attention import attention_path, coloured
from desktop.runtime.frames import probe_cameras
from i2i_common.images import read_image

from ui_support import SlowTranslator, install_models, make_settings, open_window, write_video


def _dropped_in_overlay(tab) -> int:
    match = re.search(r"dropped (\d+)", tab.view.overlay())
    return int(match.group(1)) if match else 0


def _live_threads():
    return [t for t in threading.enumerate() if t.name.startswith("live-")]


def test_video_file_frames_reach_the_view_and_stop_is_clean(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles, families=("munit",))
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-munit"))
    tab = window.live
    tab.set_video(write_video(tmp_path / "clip.mp4"))
    assert tab.source_combo.currentText() == "Video: clip.mp4"
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    assert tab.pipeline is not None and tab.start_button.text() == "Stop"
    assert not tab.video_button.isEnabled()  # the source is fixed while running
    qtbot.waitUntil(lambda: tab.frames_shown >= 3, timeout=20000)

    before, after = tab.view._before, tab.view.after()
    assert before is not None and after is not None
    assert after.shape == (64, 96, 3) and after.dtype == np.uint8
    overlay = tab.view.overlay()
    assert "capture" in overlay and "output" in overlay and "latency" in overlay
    assert window.timing_status.text().endswith("ms/image")

    assert tab.start_recording(tmp_path / "rec.mp4")
    recorded_from = tab.frames_shown
    qtbot.waitUntil(lambda: tab.frames_shown >= recorded_from + 3, timeout=20000)
    snapshot = tab.snapshot(tmp_path / "snap.png")
    assert read_image(snapshot).shape == (64, 96, 3)
    assert not (tmp_path / "snap.attention.png").exists()  # MUNIT has no attention map, and says so
    assert not tab.attention.show_map.isEnabled() and tab.attention.note.isVisibleTo(tab)

    tab.face_mode.setCurrentIndex(tab.face_mode.findData("centre"))
    tab.style_panel.reroll.click()
    shown = tab.frames_shown
    qtbot.waitUntil(lambda: tab.frames_shown > shown, timeout=20000)

    tab.start_button.click()  # stop
    assert tab.pipeline is None and tab.start_button.text() == "Start"
    qtbot.waitUntil(lambda: not _live_threads(), timeout=20000)  # stop() does not wait long; they end
    assert tab.recorder is None
    capture = cv2.VideoCapture(str(tmp_path / "rec.mp4"))
    assert capture.isOpened() and int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) >= 3
    capture.release()
    assert not list(tmp_path.glob(".*recording*"))  # the temporary file was renamed into place


def test_camera_that_cannot_open_shows_a_message_and_stays_usable(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles, families=("ugatit",))
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-ugatit"))
    tab = window.live
    qtbot.mouseClick(tab.refresh_button, Qt.MouseButton.LeftButton)  # probe the real camera indices
    qtbot.waitUntil(lambda: tab.refresh_button.isEnabled(), timeout=20000)
    found = probe_cameras()
    assert tab.message.text() == (f"{len(found)} camera(s) found" if found else "no camera found")
    assert tab.source_combo.count() == max(len(found), 1)  # none found: the remembered index is offered
    tab.source_combo.clear()
    tab.source_combo.addItem("Camera 97", ("camera", 97))  # no such device here
    tab.start()  # the pipeline opens the camera on its own thread and reports the failure
    qtbot.waitUntil(lambda: tab.pipeline is None, timeout=20000)
    assert tab.start_button.text() == "Start" and not tab.start_button.isChecked()
    assert "camera 97" in tab.message.text()
    assert tab.source_combo.isEnabled()

    tab.set_video(write_video(tmp_path / "clip.mp4", frames=10))
    assert tab.start() is True
    qtbot.waitUntil(lambda: tab.frames_shown >= 1, timeout=20000)
    tab.stop()
    qtbot.waitUntil(lambda: not _live_threads(), timeout=20000)


def test_a_slow_model_drops_stale_frames_and_the_overlay_says_so(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles, families=("ugatit",))
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-ugatit"))
    window.session.translator = SlowTranslator(window.session.translator, delay_s=0.15)  # ~6 fps vs 30
    tab = window.live
    tab.set_video(write_video(tmp_path / "clip.mp4", frames=60))
    tab.start()
    qtbot.waitUntil(lambda: _dropped_in_overlay(tab) > 0, timeout=20000)
    stats = tab.last_frame.stats
    assert stats.produced < stats.captured and stats.dropped > 0
    tab.stop()
    qtbot.waitUntil(lambda: not _live_threads(), timeout=20000)


def test_after_no_camera_found_the_list_offers_no_camera_index(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles, families=("ugatit",))
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-ugatit"))
    tab = window.live
    tab.enumerate_cameras = lambda: []  # a machine without cameras
    qtbot.mouseClick(tab.refresh_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.refresh_button.isEnabled(), timeout=20000)
    assert tab.message.text() == "no camera found"
    items = [(tab.source_combo.itemText(i), tab.source_combo.itemData(i)) for i in range(tab.source_combo.count())]
    assert items == [("No camera found", None)]  # no "Camera 0" that is not there
    assert not tab.source_combo.model().item(0).isEnabled()
    assert tab.refresh_button.text() == "Refresh" and tab.video_button.isEnabled()
    assert tab.start() is False and tab.pipeline is None  # nothing to start: a message, no pipeline
    assert "no camera found" in tab.message.text() and tab.start_button.text() == "Start"

    tab.set_video(write_video(tmp_path / "clip.mp4", frames=10))  # the video file is still an option
    assert tab.source_combo.currentText() == "Video: clip.mp4" and tab.source_combo.count() == 2
    tab.toggle_running()  # what the Start/Stop shortcut calls
    assert tab.pipeline is not None and tab.start_button.text() == "Stop"
    qtbot.waitUntil(lambda: tab.frames_shown >= 1, timeout=20000)
    tab.toggle_running()
    assert tab.pipeline is None
    qtbot.waitUntil(lambda: not _live_threads(), timeout=20000)

    tab.enumerate_cameras = lambda: [3]  # plugged in, then Refresh
    tab.refresh_button.click()
    qtbot.waitUntil(lambda: tab.refresh_button.isEnabled(), timeout=20000)
    assert tab.message.text() == "1 camera(s) found"
    assert [tab.source_combo.itemData(i) for i in range(tab.source_combo.count())] == [
        ("camera", 3), ("video", str(tmp_path / "clip.mp4"))]


class Glitchy:
    """A real translator that raises on every third frame, or on every frame once ``always`` is set."""

    def __init__(self, inner):
        self._inner, self.calls, self.always = inner, 0, False

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def translate(self, *args, **kwargs):
        self.calls += 1
        if self.calls > 1 and (self.always or self.calls % 3 == 0):  # call 1 is the warm-up
            raise RuntimeError(f"glitch {self.calls}\nmore detail")
        return self._inner.translate(*args, **kwargs)


def test_skipped_frames_show_in_the_overlay_and_repeated_failures_stop_with_the_reason(qtbot, tmp_path,
                                                                                    tiny_bundles):
    install_models(tiny_bundles, families=("ugatit",))
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-ugatit"))
    model = window.session.translator = Glitchy(window.session.translator)
    tab = window.live
    tab.set_video(write_video(tmp_path / "clip.mp4", frames=30))
    tab.start()
    qtbot.waitUntil(lambda: "skipped frames:" in tab.view.overlay(), timeout=20000)
    assert re.search(r"skipped frames: \d+ \(last error: glitch \d+\)$", tab.view.overlay())
    assert tab.pipeline is not None  # one frame in three failing does not stop it
    model.always = True
    qtbot.waitUntil(lambda: tab.pipeline is None, timeout=20000)
    assert re.fullmatch(r"the model failed on 8 of the last \d+ frames: glitch \d+", tab.message.text())
    assert tab.start_button.text() == "Start"
    qtbot.waitUntil(lambda: not _live_threads(), timeout=20000)


def test_the_attention_map_shows_over_live_frames_and_is_saved_with_snapshots(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles, families=("ugatit",))
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-ugatit"))
    tab = window.live
    tab.set_video(write_video(tmp_path / "clip.mp4", frames=300))
    controls = tab.attention
    assert controls.show_map.isEnabled() and not controls.note.isVisibleTo(tab)
    controls.show_map.setChecked(True)
    controls.opacity.setValue(100)  # the map alone
    tab.start_button.click()
    qtbot.waitUntil(lambda: tab.frames_shown >= 2, timeout=20000)
    frame = tab.last_frame
    assert frame.heatmap.shape == frame.output.shape[:2] and 0 <= frame.heatmap.min() <= frame.heatmap.max() <= 1
    qtbot.waitUntil(lambda: np.array_equal(tab.view.after(), coloured(tab.last_frame.heatmap, "jet")), timeout=20000)

    tab.face_mode.setCurrentIndex(tab.face_mode.findData("centre"))  # a crop is translated: its map sits there
    qtbot.waitUntil(lambda: tab.last_frame.crop is not None, timeout=20000)
    frame = tab.last_frame
    box = frame.crop
    outside = np.ones(frame.heatmap.shape, bool)
    outside[box.y:box.y + box.h, box.x:box.x + box.w] = False
    assert frame.heatmap.shape == (64, 96) and not frame.heatmap[outside].any() and frame.heatmap.max() > 0

    snapshot = tab.snapshot(tmp_path / "snap.png")
    assert read_image(snapshot).shape == (64, 96, 3)
    assert read_image(attention_path(snapshot)).shape == (64, 96, 3)
    controls.show_map.setChecked(False)
    qtbot.waitUntil(lambda: np.array_equal(tab.view.after(), tab.last_frame.output), timeout=20000)
    tab.start_button.click()
    qtbot.waitUntil(lambda: not _live_threads(), timeout=20000)
