"""Frame sources for the live view: a camera index or a video file behind one interface (OpenCV).

Frames are uint8 ``HxWx3`` RGB. A source that cannot be opened, fails or disappears raises
:class:`FrameSourceError` instead of returning a stale or blank frame; a video file that simply ends
(without ``loop``) raises its subclass :class:`EndOfStream`.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

READ_RETRIES = 3  # cameras drop the odd frame; this many failures in a row means it is gone


class FrameSourceError(Exception):
    """The source cannot deliver frames; the message says which source and why, in one line."""


class EndOfStream(FrameSourceError):
    """A video file without ``loop`` has no more frames."""


def _to_rgb(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


@contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own warnings while probing devices that may not exist."""
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(previous)


class FrameSource(ABC):
    """open() / read() / close(), usable as a context manager; ``fps`` and ``size`` once open."""

    def __init__(self) -> None:
        self._cap: cv2.VideoCapture | None = None

    @property
    @abstractmethod
    def name(self) -> str:
        """What the user sees ("camera 0", a file name)."""

    @abstractmethod
    def _open_capture(self) -> cv2.VideoCapture:
        """A capture that is open, or raise :class:`FrameSourceError`."""

    @abstractmethod
    def _on_failed_read(self) -> np.ndarray:
        """What to do when the capture gives no frame: a frame, or raise."""

    @property
    def is_open(self) -> bool:
        return self._cap is not None

    def open(self) -> None:
        """Open the source (does nothing if it is open)."""
        if self._cap is None:
            self._cap = self._open_capture()

    def close(self) -> None:
        """Release the device or file (safe to call twice)."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> FrameSource:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _capture(self) -> cv2.VideoCapture:
        if self._cap is None:
            raise FrameSourceError(f"{self.name} is not open")
        return self._cap

    def _grab(self) -> np.ndarray | None:
        ok, frame = self._capture().read()
        if not ok or frame is None or frame.size == 0:
            return None
        return _to_rgb(frame)

    def read(self) -> np.ndarray:
        """The next frame as uint8 RGB ``HxWx3``."""
        frame = self._grab()
        return frame if frame is not None else self._on_failed_read()

    @property
    def fps(self) -> float | None:
        """Frames per second the source reports, or None if it does not say."""
        value = self._capture().get(cv2.CAP_PROP_FPS)
        return float(value) if value and np.isfinite(value) and value > 0 else None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames."""
        cap = self._capture()
        return int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))


class CameraSource(FrameSource):
    """A camera by OpenCV index, optionally asking for a capture size (the driver may pick another)."""

    def __init__(self, index: int = 0, width: int | None = None, height: int | None = None):
        super().__init__()
        self.index, self.width, self.height = index, width, height

    @property
    def name(self) -> str:
        return f"camera {self.index}"

    def _open_capture(self) -> cv2.VideoCapture:
        with _quiet_opencv():
            cap = cv2.VideoCapture(self.index)
        if not cap.isOpened():
            cap.release()
            raise FrameSourceError(f"{self.name} cannot be opened (not connected, or in use by another program)")
        if self.width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        if self.height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        return cap

    def _on_failed_read(self) -> np.ndarray:
        for _ in range(READ_RETRIES - 1):
            frame = self._grab()
            if frame is not None:
                return frame
        raise FrameSourceError(f"{self.name} stopped delivering frames (disconnected?)")


class VideoFileSource(FrameSource):
    """A video file, played once (then :class:`EndOfStream`) or looped."""

    def __init__(self, path: str | os.PathLike, loop: bool = False):
        super().__init__()
        self.path, self.loop = Path(path), loop
        self._frames_read = 0

    @property
    def name(self) -> str:
        return self.path.name

    def _open_capture(self) -> cv2.VideoCapture:
        if not self.path.is_file():
            raise FrameSourceError(f"{self.path}: no such video file")
        with _quiet_opencv():
            cap = cv2.VideoCapture(str(self.path))
            ok = cap.isOpened() and cap.read()[0]
        if not ok:
            cap.release()
            raise FrameSourceError(f"{self.path}: not a video OpenCV can decode")
        cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self._frames_read = 0
        return cap

    def read(self) -> np.ndarray:
        frame = super().read()
        self._frames_read += 1
        return frame

    def _on_failed_read(self) -> np.ndarray:
        if not self.path.is_file():
            raise FrameSourceError(f"{self.path}: the file disappeared while playing")
        if self._frames_read == 0:
            raise FrameSourceError(f"{self.path}: no frame could be decoded")
        expected = int(self._capture().get(cv2.CAP_PROP_FRAME_COUNT))
        if self._frames_read < expected - 1:  # containers may count one frame more than they hold
            raise FrameSourceError(f"{self.path}: frame {self._frames_read + 1} of {expected} cannot be "
                                   "decoded (damaged file?)")
        if not self.loop:
            raise EndOfStream(f"{self.path}: end of video")
        self._capture().set(cv2.CAP_PROP_POS_FRAMES, 0)
        self._frames_read = 0
        frame = self._grab()
        if frame is None:
            raise FrameSourceError(f"{self.path}: cannot rewind the video to loop it")
        return frame


V4L_SYSFS = Path("/sys/class/video4linux")


def camera_label(index: int, sysfs: Path = V4L_SYSFS) -> str:
    """What to call camera ``index`` in a picker: the device name where the platform gives one (Linux
    video4linux: ``/sys/class/video4linux/videoN/name``), else ``Camera N``."""
    try:
        name = (sysfs / f"video{index}" / "name").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        name = ""
    return f"{name} (camera {index})" if name else f"Camera {index}"


def probe_cameras(max_index: int = 5) -> list[int]:
    """Indices of the cameras that open and deliver a frame, among 0 .. ``max_index - 1``."""
    found = []
    for index in range(max_index):
        source = CameraSource(index)
        try:
            with source:
                source.read()
        except FrameSourceError:
            continue
        found.append(index)
    return found
