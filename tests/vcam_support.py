"""A fake ``pyvirtualcam`` module for the virtual camera tests (runtime and UI): the library boundary is
faked, never a real driver. Inject it with ``monkeypatch.setitem(sys.modules, "pyvirtualcam", fake)``."""
from __future__ import annotations

import threading
import types

import numpy as np

NO_LOOPBACK = ("'v4l2loopback' backend: No v4l2 loopback device found at /dev/video[0-99]. "
               "Did you run 'modprobe v4l2loopback'? See also pyvirtualcam's documentation.")


def fake_pyvirtualcam(open_error: str | None = None, fail_after: int | None = None):
    """A stand-in for the pyvirtualcam module: its Camera checks frames as the real one does (uint8,
    (height, width, 3)) and records them; it can refuse to open or fail after ``fail_after`` frames."""
    module = types.ModuleType("pyvirtualcam")
    module.cameras = []

    class Camera:
        def __init__(self, width, height, fps, **options):
            if open_error is not None:
                raise RuntimeError(open_error)
            self.width, self.height, self.fps, self.options = width, height, fps, options
            self.device, self.frames, self.closed = "/dev/video9", [], False
            self.sent = threading.Event()
            module.cameras.append(self)

        def send(self, frame):
            if frame.dtype != np.uint8 or frame.shape != (self.height, self.width, 3):
                raise ValueError(f"unexpected frame {frame.dtype} {frame.shape}")
            if fail_after is not None and len(self.frames) >= fail_after:
                raise RuntimeError("write to /dev/video9 failed: No such device\nmore detail")
            self.frames.append(frame.copy())
            self.sent.set()

        def close(self):
            self.closed = True

    module.Camera = Camera
    return module
