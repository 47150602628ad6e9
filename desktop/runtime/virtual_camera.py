"""Live output to a virtual camera, which video-call apps and OBS list as a webcam, through pyvirtualcam.

pyvirtualcam is optional (``pip install "i2i-studio[vcam]"``) and only talks to a virtual camera driver
that is installed separately (what pyvirtualcam's documentation names per platform): on Windows OBS
Studio's own virtual camera (OBS 26.0 and later) or Unity Capture; on macOS OBS Studio's virtual camera
(pyvirtualcam 0.10+ wants OBS 28+, and 0.14+ on macOS 13+ wants OBS 30+), started once from OBS; on Linux a
v4l2loopback device. Without the package or a driver, opening fails with one line that says what to
install. The camera is opened at a fixed size; every frame is letterboxed into it (black bars) as RGB.
"""
from __future__ import annotations

import platform
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from .mailbox import FrameSlot
from .preprocess import resize
from .providers import first_line

OUTPUT_SIZE = (1280, 720)  # (width, height) the virtual camera is opened at
OUTPUT_FPS = 30.0  # the rate announced to the driver; frames are sent as they come
CLOSE_WAIT_S = 0.5  # how long closing a feed waits for its thread (one stuck in the driver ends by itself)
INSTALL_PACKAGE = 'pip install pyvirtualcam (or pip install "i2i-studio[vcam]")'
DRIVERS = {  # what to install per platform.system(), from pyvirtualcam's "Supported virtual cameras"
    "Windows": "install OBS Studio 26 or later (it includes the OBS Virtual Camera) or Unity Capture",
    "Darwin": "install OBS Studio 30 or later (28 or later before macOS 13), start it, click Start Virtual "
              "Camera once, then stop it and quit OBS",
    "Linux": "install v4l2loopback (Debian/Ubuntu: sudo apt install v4l2loopback-dkms) and create a device: "
             "sudo modprobe v4l2loopback devices=1 exclusive_caps=1",
}


class VirtualCameraError(Exception):
    """No virtual camera can be opened or it stopped taking frames; the message is one line."""


def driver_hint(system: str | None = None) -> str:
    """What to install for a virtual camera on ``system`` (default: this machine's ``platform.system()``)."""
    system = system or platform.system()
    return DRIVERS.get(system, f"pyvirtualcam has virtual cameras on Windows, macOS and Linux only, not {system}")


def letterbox(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """A contiguous ``height x width x 3`` uint8 frame: ``rgb`` (RGB or RGBA) scaled to fit, centred on black."""
    rgb = rgb[..., :3]
    if rgb.shape[:2] == (height, width):
        return np.ascontiguousarray(rgb)
    scale = min(width / rgb.shape[1], height / rgb.shape[0])
    w, h = max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale))
    frame = np.zeros((height, width, 3), np.uint8)
    x, y = (width - w) // 2, (height - h) // 2
    frame[y:y + h, x:x + w] = resize(np.ascontiguousarray(rgb), h, w)
    return frame


class VirtualCamera:
    """An open virtual camera: :meth:`send` takes RGB(A) frames of any size, :meth:`close` releases it."""

    def __init__(self, camera: Any, width: int, height: int) -> None:
        self._camera = camera
        self.width, self.height = width, height
        self.device = str(camera.device)  # the name apps list it under ("OBS Virtual Camera", /dev/video2)

    def send(self, rgb: np.ndarray) -> None:
        """Send one frame; raises :class:`VirtualCameraError` when the device no longer takes frames."""
        frame = letterbox(rgb, self.width, self.height)
        try:
            self._camera.send(frame)
        except Exception as exc:  # noqa: BLE001  each backend raises its own kind
            raise VirtualCameraError(f"the virtual camera {self.device} stopped taking frames: "
                                     f"{first_line(exc)}") from None

    def close(self) -> None:
        try:
            self._camera.close()
        except Exception:  # noqa: BLE001  a vanished device may fail to close; nothing is left to release
            pass


def require_pyvirtualcam() -> Any:
    """The pyvirtualcam module; raises :class:`VirtualCameraError` with the install command without it."""
    try:
        import pyvirtualcam
    except ImportError:
        raise VirtualCameraError(f"the virtual camera needs pyvirtualcam, which is not installed: "
                                 f"{INSTALL_PACKAGE}") from None
    return pyvirtualcam


def open_virtual_camera(width: int = OUTPUT_SIZE[0], height: int = OUTPUT_SIZE[1],
                        fps: float = OUTPUT_FPS) -> VirtualCamera:
    """Open the first virtual camera pyvirtualcam finds, for RGB frames of ``width x height``. Raises
    :class:`VirtualCameraError` saying what to install when pyvirtualcam or a driver is missing."""
    pyvirtualcam = require_pyvirtualcam()
    try:
        camera = pyvirtualcam.Camera(width=width, height=height, fps=fps)
    except RuntimeError as exc:  # pyvirtualcam's "no backend could open a device", one line per backend
        detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise VirtualCameraError(f"no virtual camera found ({detail or 'no backend'}); "
                                 f"{driver_hint()}") from None
    return VirtualCamera(camera, width, height)


class VirtualCameraFeed:
    """Sends frames to an open :class:`VirtualCamera` on its own thread, so a slow driver never holds up the
    caller: :meth:`offer` replaces a frame not sent yet. When sending fails the feed ends, closes the camera
    and calls ``on_error(message)`` from its thread (not after :meth:`close`)."""

    def __init__(self, camera: VirtualCamera, on_error: Callable[[str], None] | None = None) -> None:
        self.camera = camera
        self.sent = 0
        self.error: str | None = None
        self._on_error = on_error or (lambda message: None)
        self._slot = FrameSlot()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vcam-send", daemon=True)
        self._thread.start()

    def offer(self, rgb: np.ndarray) -> None:
        """Queue ``rgb`` to be sent (any thread; returns at once)."""
        if not self._closed.is_set():
            self._slot.put(rgb)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def close(self, wait_s: float = CLOSE_WAIT_S) -> None:
        """Stop sending; the camera is closed by the time this returns unless the driver is stuck in a send
        (then it is closed when that send returns). Safe to call more than once."""
        self._closed.set()
        self._slot.close()
        if self._thread is not threading.current_thread():
            self._thread.join(wait_s)

    def _run(self) -> None:
        try:
            while not self._closed.is_set():
                frame = self._slot.get(timeout=0.1)
                if frame is None or self._closed.is_set():
                    continue
                try:
                    self.camera.send(frame)
                except VirtualCameraError as exc:
                    self.error = str(exc)
                    if not self._closed.is_set():
                        self._on_error(self.error)
                    return
                self.sent += 1
        finally:
            self._closed.set()
            self.camera.close()
