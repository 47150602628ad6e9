"""Live's per-stage timings and its "Send to virtual camera" toggle, on a generated video with a real tiny model.
The virtual camera is faked at the library boundary (a fake ``pyvirtualcam`` module), never a real driver."""
from __future__ import annotations

import re
import sys
import threading

import numpy as np

from desktop.runtime.virtual_camera import OUTPUT_SIZE, driver_hint

from ui_support import install_models, make_settings, open_window, write_video
from vcam_support import NO_LOOPBACK, fake_pyvirtualcam

STAGES_LINE = re.compile(r"capture [\d.]+ · pre [\d.]+ · model [\d.]+ · post [\d.]+ · display [\d.]+ ms")


def _threads(prefix: str):
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


def _live_tab(qtbot, tmp_path, tiny_bundles, families=("munit",)):
    install_models(tiny_bundles, families=families)
    window = open_window(qtbot, make_settings(tmp_path, model=f"tiny-{families[0]}"))
    tab = window.live
    tab.set_video(write_video(tmp_path / "clip.mp4", frames=300))
    return window, tab


def test_frames_reach_the_virtual_camera_with_timings_shown_and_it_closes_on_stop_and_model_change(
        qtbot, tmp_path, tiny_bundles, monkeypatch):
    fake = fake_pyvirtualcam()
    monkeypatch.setitem(sys.modules, "pyvirtualcam", fake)
    window, tab = _live_tab(qtbot, tmp_path, tiny_bundles, families=("munit", "ugatit"))
    tab.vcam_box.setChecked(True)  # while stopped: opens when Live starts
    assert tab.message.text() == "the virtual camera opens when Live starts" and not fake.cameras
    tab.start()
    camera = fake.cameras[0]
    assert (camera.width, camera.height) == OUTPUT_SIZE
    qtbot.waitUntil(lambda: len(camera.frames) >= 3 and tab.frames_shown >= 3, timeout=20000)
    frame = camera.frames[-1]
    assert frame.shape == (720, 1280, 3) and frame.dtype == np.uint8
    assert not frame[:, :100].any() and not frame[:, 1180:].any()  # 96x64 letterboxed: 1080x720 in the middle
    assert frame[:, 100:1180].any()
    assert tab.message.text() == "running, sending to /dev/video9"

    overlay = tab.view.overlay().splitlines()
    assert overlay[0].startswith("capture ") and STAGES_LINE.fullmatch(overlay[1])
    stages = tab.pipeline.stats.stages
    assert stages.model > 0 and stages.capture > 0 and stages.display > 0  # display: measured by the tab

    tab.stop()
    assert camera.closed and tab.outputs.vcam_feed is None and tab.vcam_box.isChecked()
    qtbot.waitUntil(lambda: not _threads("vcam-") and not _threads("live-"), timeout=20000)

    tab.start()  # the toggle stayed on: a new camera
    qtbot.waitUntil(lambda: len(fake.cameras) == 2 and len(fake.cameras[1].frames) > 0, timeout=20000)
    combo = window.bar.model_combo
    combo.setCurrentIndex(combo.findData("tiny-ugatit"))  # a model change stops Live and closes the camera
    qtbot.waitUntil(lambda: fake.cameras[1].closed and tab.pipeline is None, timeout=20000)
    qtbot.waitUntil(lambda: window.session.translator is not None, timeout=20000)
    qtbot.waitUntil(lambda: not _threads("vcam-") and not _threads("live-"), timeout=20000)


def test_without_pyvirtualcam_the_toggle_says_what_to_install_and_switches_off(qtbot, tmp_path, tiny_bundles,
                                                                            monkeypatch):
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)  # as if not installed
    _, tab = _live_tab(qtbot, tmp_path, tiny_bundles)
    tab.vcam_box.setChecked(True)
    assert not tab.vcam_box.isChecked() and "pip install pyvirtualcam" in tab.message.text()
    tab.start()
    qtbot.waitUntil(lambda: tab.frames_shown >= 1, timeout=20000)
    tab.vcam_box.setChecked(True)  # while running: the same one line, Live goes on
    assert not tab.vcam_box.isChecked() and "i2i-studio[vcam]" in tab.message.text()
    shown = tab.frames_shown
    qtbot.waitUntil(lambda: tab.frames_shown > shown, timeout=20000)
    tab.stop()
    qtbot.waitUntil(lambda: not _threads("live-"), timeout=20000)


def test_no_virtual_camera_driver_gives_the_platform_message_and_live_keeps_running(qtbot, tmp_path, tiny_bundles,
                                                                                   monkeypatch):
    monkeypatch.setitem(sys.modules, "pyvirtualcam", fake_pyvirtualcam(open_error=NO_LOOPBACK))
    _, tab = _live_tab(qtbot, tmp_path, tiny_bundles)
    tab.vcam_box.setChecked(True)
    tab.start()
    message = tab.message.text()
    assert message.startswith("no virtual camera found (") and message.endswith(driver_hint())
    assert "\n" not in message and not tab.vcam_box.isChecked() and tab.pipeline is not None
    qtbot.waitUntil(lambda: tab.frames_shown >= 3, timeout=20000)
    assert tab.message.text() == message  # the first frame does not hide why there is no virtual camera
    tab.stop()
    qtbot.waitUntil(lambda: not _threads("live-"), timeout=20000)


def test_a_virtual_camera_that_vanishes_mid_stream_stops_sending_and_live_goes_on(qtbot, tmp_path, tiny_bundles,
                                                                               monkeypatch):
    fake = fake_pyvirtualcam(fail_after=3)
    monkeypatch.setitem(sys.modules, "pyvirtualcam", fake)
    _, tab = _live_tab(qtbot, tmp_path, tiny_bundles)
    tab.start()
    qtbot.waitUntil(lambda: tab.frames_shown >= 1, timeout=20000)
    tab.vcam_box.setChecked(True)  # switched on while running: opens at once
    camera = fake.cameras[0]
    qtbot.waitUntil(lambda: not tab.vcam_box.isChecked(), timeout=20000)
    assert tab.message.text() == ("the virtual camera /dev/video9 stopped taking frames: write to /dev/video9 "
                                  "failed: No such device; Live goes on without it")
    assert len(camera.frames) == 3 and camera.closed and tab.outputs.vcam_feed is None
    shown = tab.frames_shown
    qtbot.waitUntil(lambda: tab.frames_shown > shown + 2, timeout=20000)  # Live goes on
    assert tab.pipeline is not None and len(camera.frames) == 3
    tab.shutdown()
    qtbot.waitUntil(lambda: not _threads("live-") and not _threads("vcam-"), timeout=20000)
