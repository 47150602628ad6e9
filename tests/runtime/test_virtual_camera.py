"""The virtual camera output against a fake ``pyvirtualcam`` module (never a real driver): what it is sent,
what it says when the package or a driver is missing, and a device that vanishes mid-stream."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from desktop.runtime import virtual_camera as vc
from desktop.runtime.virtual_camera import VirtualCameraError, VirtualCameraFeed, letterbox, open_virtual_camera

from live_support import wait_until
from vcam_support import NO_LOOPBACK, fake_pyvirtualcam


def test_frames_are_letterboxed_into_the_fixed_rgb_size(monkeypatch):
    fake = fake_pyvirtualcam()
    monkeypatch.setitem(sys.modules, "pyvirtualcam", fake)
    camera = open_virtual_camera(320, 180, 30.0)
    assert camera.device == "/dev/video9" and fake.cameras[0].fps == 30.0
    image = np.full((60, 40, 4), 200, np.uint8)  # RGBA, portrait: bars left and right
    camera.send(image)
    frame = fake.cameras[0].frames[0]
    assert frame.shape == (180, 320, 3) and frame.flags.c_contiguous
    assert not frame[:, :100].any() and not frame[:, 220:].any()  # 40x60 scaled to 120x180, centred
    assert (frame[:, 100:220] == 200).all()
    camera.close()
    assert fake.cameras[0].closed


def test_letterbox_keeps_a_frame_of_the_right_size_as_it_is():
    rgb = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    assert np.array_equal(letterbox(rgb, 6, 4), rgb)
    wide = letterbox(np.full((10, 40, 3), 9, np.uint8), 20, 20)  # bars above and below
    assert wide.shape == (20, 20, 3) and not wide[:7].any() and (wide[8:12] == 9).all() and not wide[13:].any()


def test_without_pyvirtualcam_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)  # import fails as if it were not installed
    with pytest.raises(VirtualCameraError) as caught:
        open_virtual_camera()
    message = str(caught.value)
    assert "pyvirtualcam, which is not installed" in message and "pip install pyvirtualcam" in message
    assert "i2i-studio[vcam]" in message and "\n" not in message


@pytest.mark.parametrize("system, needed", [
    ("Windows", ("OBS Studio 26 or later", "Unity Capture")),
    ("Darwin", ("OBS Studio 30 or later", "28 or later before macOS 13", "Start Virtual Camera")),
    ("Linux", ("sudo apt install v4l2loopback-dkms", "sudo modprobe v4l2loopback devices=1 exclusive_caps=1")),
    ("FreeBSD", ("Windows, macOS and Linux only, not FreeBSD",)),
])
def test_no_virtual_camera_driver_gives_one_line_saying_what_to_install(monkeypatch, system, needed):
    monkeypatch.setitem(sys.modules, "pyvirtualcam", fake_pyvirtualcam(open_error=f"{NO_LOOPBACK}\n'other' backend: x"))
    monkeypatch.setattr(vc.platform, "system", lambda: system)
    with pytest.raises(VirtualCameraError) as caught:
        open_virtual_camera()
    message = str(caught.value)
    assert message.startswith("no virtual camera found ('v4l2loopback' backend: No v4l2 loopback device")
    assert "\n" not in message and "; 'other' backend: x)" in message
    for words in needed:
        assert words in message


def test_the_feed_sends_from_its_own_thread_and_closes_the_camera(monkeypatch):
    fake = fake_pyvirtualcam()
    monkeypatch.setitem(sys.modules, "pyvirtualcam", fake)
    errors = []
    feed = VirtualCameraFeed(open_virtual_camera(64, 48), on_error=errors.append)
    camera = fake.cameras[0]
    feed.offer(np.full((48, 64, 3), 50, np.uint8))
    assert camera.sent.wait(10)
    assert wait_until(lambda: feed.sent == 1)
    feed.close()
    assert camera.closed and not feed.running and not errors
    feed.offer(np.zeros((48, 64, 3), np.uint8))  # after close: ignored
    assert len(camera.frames) == 1


def test_a_device_that_vanishes_mid_stream_ends_the_feed_with_one_message(monkeypatch):
    fake = fake_pyvirtualcam(fail_after=2)
    monkeypatch.setitem(sys.modules, "pyvirtualcam", fake)
    errors = []
    feed = VirtualCameraFeed(open_virtual_camera(64, 48), on_error=errors.append)
    for value in range(20):
        feed.offer(np.full((48, 64, 3), value, np.uint8))
        if errors:
            break
        wait_until(lambda v=value: feed.sent > v or errors)
    assert wait_until(lambda: not feed.running)
    assert errors == [feed.error] and feed.sent == 2 and fake.cameras[0].closed
    assert errors[0] == ("the virtual camera /dev/video9 stopped taking frames: "
                         "write to /dev/video9 failed: No such device")
    feed.close()  # still safe
