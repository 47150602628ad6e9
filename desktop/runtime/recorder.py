"""Saving what the live view shows: single snapshots and MP4 recordings, both written atomically.

A recording goes to a hidden temporary file beside the target and is renamed into place by
:meth:`VideoRecorder.close`, so a crash never leaves a half-written file under the user's name.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from i2i_common.atomic import AtomicTarget
from i2i_common.images import write_image

FOURCC = "mp4v"  # MPEG-4 part 2: encoded by the FFmpeg inside every opencv-python wheel


def save_snapshot(path: str | os.PathLike, rgb: np.ndarray) -> Path:
    """Write one frame (RGB or RGBA uint8) to ``path``, atomically, replacing an older file."""
    path = Path(path)
    write_image(path, rgb, overwrite=True)
    return path


def timestamped_path(folder: str | os.PathLike, prefix: str, suffix: str) -> Path:
    """``folder/prefix-YYYYmmdd-HHMMSS[-n]suffix`` that does not exist yet."""
    folder = Path(folder)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = folder / f"{prefix}-{stamp}{suffix}"
    n = 1
    while candidate.exists():
        candidate = folder / f"{prefix}-{stamp}-{n}{suffix}"
        n += 1
    return candidate


class RecorderError(Exception):
    """The recording could not be written."""


class VideoRecorder:
    """Append RGB frames to an MP4. The frame size is fixed by the first frame; later frames of another
    size are resized to it. Thread-safe: frames may come from the inference thread while the GUI
    thread closes the recorder."""

    def __init__(self, path: str | os.PathLike, fps: float = 30.0) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() != ".mp4":
            raise ValueError(f"recordings are MP4 files: {self.path.name}")
        if not self.path.parent.is_dir():
            raise RecorderError(f"folder does not exist: {self.path.parent}")
        self.fps = float(fps)
        self.frames = 0
        self._target: AtomicTarget | None = None  # the hidden file being recorded, from the first frame
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None  # (width, height)
        self._lock = threading.Lock()
        self._closed = False

    def write(self, rgb: np.ndarray) -> None:
        """Append one RGB(A) uint8 frame."""
        with self._lock:
            if self._closed:
                raise RecorderError("the recording is already closed")
            writer, size = self._writer or self._open(rgb.shape[1], rgb.shape[0]), self._size
            bgr = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2BGR)
            if size is not None and (bgr.shape[1], bgr.shape[0]) != size:
                bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
            writer.write(bgr)
            self.frames += 1

    def _open(self, width: int, height: int) -> cv2.VideoWriter:
        # MPEG-4 wants even sizes; crop-free: round the target up and let write() resize.
        self._size = (width + width % 2, height + height % 2)
        try:
            self._target = AtomicTarget(self.path)
        except OSError as exc:
            raise RecorderError(f"cannot record to {self.path.parent}: {exc.strerror or exc}") from exc
        writer = cv2.VideoWriter(str(self._target.tmp), cv2.VideoWriter.fourcc(*FOURCC), self.fps, self._size)
        if not writer.isOpened():
            self._target.discard()
            raise RecorderError(f"cannot record to {self.path.parent} (not writable, or no MP4 encoder)")
        self._writer = writer
        return writer

    def close(self) -> Path | None:
        """Finish the file and move it into place; returns its path, or None if no frame was written."""
        with self._lock:
            if self._closed:
                return self.path if self.frames else None
            self._closed = True
            if self._writer is None or self._target is None:
                return None
            self._writer.release()
            try:
                self._target.commit()
            except OSError as exc:
                raise RecorderError(f"cannot save {self.path}: {exc.strerror or exc}") from exc
            return self.path

    def abort(self) -> None:
        """Stop and delete what was recorded."""
        with self._lock:
            self._closed = True
            if self._writer is not None:
                self._writer.release()
            if self._target is not None:
                self._target.discard()
            self.frames = 0

    def __enter__(self) -> VideoRecorder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
