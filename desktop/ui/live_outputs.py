"""Where Live's output goes besides the view: snapshots, MP4 recording and a virtual camera.

The recorder is fed from the inference thread (every output); the virtual camera gets the frame as the
view shows it, handed to its own sending thread (desktop.runtime.virtual_camera), so neither holds up the UI.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QCheckBox, QFileDialog, QGridLayout, QPushButton, QWidget

from desktop.runtime.attention import save_attention
from desktop.runtime.live import LiveFrame
from desktop.runtime.recorder import RecorderError, VideoRecorder, save_snapshot, timestamped_path
from desktop.runtime.virtual_camera import (
    OUTPUT_FPS,
    OUTPUT_SIZE,
    VirtualCameraError,
    VirtualCameraFeed,
    open_virtual_camera,
    require_pyvirtualcam,
)
from i2i_common.images import ImageWriteError

from .settings import Settings

VCAM_TEXT = "Send to virtual camera"


class _FeedBridge(QObject):
    """Carries a virtual camera's failure (its sending thread) to the UI thread, with the feed it came from."""

    failed = Signal(object, str)


class LiveOutputs(QWidget):
    """Snapshot and Record buttons and the "Send to virtual camera" toggle. ``say`` shows a status line,
    ``report`` a problem (a status line and, when visible, a warning), ``live()`` says whether Live runs."""

    def __init__(self, settings: Settings, colours: Callable[[], str], say: Callable[[str], None],
                 report: Callable[[str], None], live: Callable[[], bool], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings, self._colours, self._say, self._report = settings, colours, say, report
        self.live = live  # whether the pipeline runs (the toggle opens the camera at once then)
        self.recorder: VideoRecorder | None = None
        self.vcam_feed: VirtualCameraFeed | None = None
        self.open_camera = open_virtual_camera  # (width, height, fps) -> VirtualCamera
        self._bridge = _FeedBridge(self)
        self.snapshot_button = QPushButton("Snapshot")
        self.record_button = QPushButton("Record MP4")
        self.record_button.setCheckable(True)
        self.vcam_box = QCheckBox(VCAM_TEXT)
        self.vcam_box.setToolTip(f"While Live runs, the output as shown goes to a virtual camera "
                                 f"({OUTPUT_SIZE[0]}x{OUTPUT_SIZE[1]}) that video-call apps and OBS can pick")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.snapshot_button, 0, 0)
        grid.addWidget(self.record_button, 0, 1)
        grid.addWidget(self.vcam_box, 1, 0, 1, 2)
        self.record_button.toggled.connect(self._record_toggled)
        self.vcam_box.toggled.connect(self._vcam_toggled)
        self._bridge.failed.connect(self._feed_failed)

    # frames -----------------------------------------------------------------------------------------
    def write(self, output: np.ndarray) -> None:
        """Inference thread: append the output to the recording, if one runs."""
        recorder = self.recorder
        if recorder is not None:
            try:
                recorder.write(output)
            except RecorderError:
                pass  # closed between the check and the write: the recording has ended

    def send_to_camera(self, shown: np.ndarray) -> None:
        """UI thread: the output as the view shows it goes to the virtual camera (queued, returns at once)."""
        if self.vcam_feed is not None:
            self.vcam_feed.offer(shown)

    # virtual camera ---------------------------------------------------------------------------------
    def start_camera(self) -> VirtualCameraFeed | None:
        """Open the virtual camera if the toggle is on (Live starts, or the toggle is switched on while it
        runs); the open feed, or None. A failure is reported in one line and switches the toggle off; Live goes
        on either way."""
        if not self.vcam_box.isChecked() or self.vcam_feed is not None:
            return self.vcam_feed
        try:
            camera = self.open_camera(OUTPUT_SIZE[0], OUTPUT_SIZE[1], OUTPUT_FPS)
        except VirtualCameraError as exc:
            self._untick()
            self._report(str(exc))
            return None
        feed = VirtualCameraFeed(camera, on_error=lambda message: self._bridge.failed.emit(feed, message))
        self.vcam_feed = feed  # frames come only from now on, so an error cannot come before this line
        return feed

    def stop_camera(self) -> None:
        """Close the virtual camera (Live stopped, the model changed, the toggle went off); the toggle stays."""
        feed, self.vcam_feed = self.vcam_feed, None
        if feed is not None:
            feed.close()

    def _vcam_toggled(self, on: bool) -> None:
        """On while Live runs: open now; on while stopped: check pyvirtualcam now, open at Start; off: close."""
        if not on:
            if self.vcam_feed is not None:
                self.stop_camera()
                self._say("virtual camera closed")
            return
        if self.live():
            feed = self.start_camera()
            if feed is not None:
                self._say(f"sending to the virtual camera {feed.camera.device}")
            return
        try:
            require_pyvirtualcam()
        except VirtualCameraError as exc:
            self._untick()
            self._report(str(exc))
            return
        self._say("the virtual camera opens when Live starts")

    def _feed_failed(self, feed: VirtualCameraFeed, message: str) -> None:
        if feed is self.vcam_feed:  # not a late message from a camera already closed
            self.stop_camera()
            self._untick()
            self._report(f"{message}; Live goes on without it")

    def _untick(self) -> None:
        self.vcam_box.blockSignals(True)
        self.vcam_box.setChecked(False)
        self.vcam_box.blockSignals(False)

    # snapshot and recording -------------------------------------------------------------------------
    def snapshot(self, frame: LiveFrame, path: Path | None = None) -> Path | None:
        """Save ``frame``'s output (default: a timestamped PNG in the last snapshot folder), and its
        attention map beside it (``<stem>.attention.png``) when it has one."""
        path = path or timestamped_path(self.settings.folder("snapshots"), "snapshot", ".png")
        try:
            save_snapshot(path, frame.output)
            if frame.heatmap is not None:
                save_attention(path, frame.heatmap, self._colours(), overwrite=True)
        except (OSError, ImageWriteError) as exc:
            self._report(f"snapshot not saved: {exc}")
            return None
        self.settings.set_folder("snapshots", path)
        self._say(f"saved {path}")
        return path

    def start_recording(self, path: Path) -> bool:
        try:
            self.recorder = VideoRecorder(path, fps=30.0)
        except (RecorderError, ValueError) as exc:
            self._report(f"cannot record: {exc}")
            return False
        self.settings.set_folder("recordings", path)
        self._say(f"recording to {path.name}...")
        return True

    def stop_recording(self) -> Path | None:
        """Finish the MP4 (renamed into place); returns its path, or None if nothing was recorded."""
        recorder, self.recorder = self.recorder, None
        self.record_button.blockSignals(True)
        self.record_button.setChecked(False)
        self.record_button.blockSignals(False)
        if recorder is None:
            return None
        try:
            written = recorder.close()
        except RecorderError as exc:
            self._report(str(exc))
            return None
        if written is not None:
            self._say(f"saved {written} ({recorder.frames} frames)")
        return written

    def _record_toggled(self, on: bool) -> None:
        if not on:
            self.stop_recording()
            return
        start = str(timestamped_path(self.settings.folder("recordings"), "recording", ".mp4"))
        path, _ = QFileDialog.getSaveFileName(self, "Record to", start, "MP4 video (*.mp4)")
        if not path or not self.start_recording(Path(path)):
            self.record_button.setChecked(False)
