"""Live workspace: camera or video file in, translated frames out, with an FPS, latency and per-stage timing
overlay, face mode, style choice, the attention map over the output, and the outputs of live_outputs.py
(snapshots, MP4 recording, a virtual camera). Threads and frame dropping live in desktop.runtime.live."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from desktop.runtime.frames import CameraSource, VideoFileSource, camera_label, probe_cameras
from desktop.runtime.live import STOP_WAIT_S, LiveFrame, LivePipeline
from desktop.runtime.recorder import VideoRecorder

from .attention_controls import AttentionControls
from .image_view import CompareView, link_split_slider
from .live_model import LiveModelChoice
from .live_outputs import LiveOutputs
from .session import ModelSession
from .settings import Settings
from .style_panel import StylePanel
from .tasks import TaskRunner

RESOLUTIONS = ("320x240", "640x480", "1280x720", "1920x1080")
FACE_MODES = (("Whole frame", None), ("Human face", "human"), ("Cat face", "cat"), ("Centre square", "centre"))
VIDEO_FILTER = "Videos (*.mp4 *.avi *.mov *.mkv *.webm)"
NO_CAMERA = "No camera found"
SHUTDOWN_WAIT_S = 5.0  # on closing the window, how long the live threads get to end before the app exits
OVERLAY_ERROR_CHARS = 80  # the last model error in the overlay is cut to this length


def skipped_text(skipped: int, last_error: str | None) -> str:
    """The overlay's line on frames the model failed on ("" when there were none)."""
    if not skipped:
        return ""
    error = last_error or "unknown error"
    if len(error) > OVERLAY_ERROR_CHARS:
        error = error[:OVERLAY_ERROR_CHARS - 1] + "\u2026"
    return f"\nskipped frames: {skipped} (last error: {error})"


class _PipelineBridge(QObject):
    """Carries the pipeline's callbacks (inference / capture threads) to the UI thread."""

    frame = Signal()
    error = Signal(str)
    ended = Signal()


class LiveTab(QWidget):
    """Public methods mirror the controls so tests and scripts can drive the workspace."""

    def __init__(self, session: ModelSession, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.settings = session, settings
        self.pipeline: LivePipeline | None = None
        self.video_path: Path | None = None
        self.last_frame: LiveFrame | None = None
        self.frames_shown = 0
        self._frame_pending = False
        self.bridge = _PipelineBridge(self)
        self.probe_runner = TaskRunner(self)
        self.enumerate_cameras: Callable[[], list[int]] = probe_cameras  # indices of working cameras

        self.source_combo = QComboBox()
        self.source_combo.setMinimumContentsLength(18)
        self.refresh_button = QPushButton("Find cameras")
        self.video_button = QPushButton("Video file...")
        self.resolution = QComboBox()
        self.resolution.addItems(RESOLUTIONS)
        self.resolution.setCurrentText(settings.resolution())
        self.start_button = QPushButton("Start")
        self.start_button.setCheckable(True)
        self.view_mode = QComboBox()
        for mode, text in (("side", "Side by side"), ("split", "Split"), ("output", "Output only")):
            self.view_mode.addItem(text, mode)
        self.split_slider = QSlider(Qt.Orientation.Horizontal)
        self.face_mode = QComboBox()
        for text, kind in FACE_MODES:
            self.face_mode.addItem(text, kind)
        self.style_panel = StylePanel(session, settings)
        self.model_choice = LiveModelChoice(settings)
        self.attention = AttentionControls(settings)
        self.view = CompareView("Pick a camera or a video file and press Start")
        self.view.set_mode("side")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.outputs = LiveOutputs(settings, self.attention.colours, self.message.setText, self._report,
                                   live=lambda: self.pipeline is not None)
        self.snapshot_button, self.record_button = self.outputs.snapshot_button, self.outputs.record_button
        self.vcam_box = self.outputs.vcam_box

        source_box = QGroupBox("Source")
        grid = QGridLayout(source_box)
        grid.addWidget(self.source_combo, 0, 0, 1, 2)
        grid.addWidget(self.refresh_button, 1, 0)
        grid.addWidget(self.video_button, 1, 1)
        grid.addWidget(QLabel("Resolution"), 2, 0)
        grid.addWidget(self.resolution, 2, 1)
        grid.addWidget(self.start_button, 3, 0, 1, 2)
        view_box = QGroupBox("View")
        view_grid = QGridLayout(view_box)
        view_grid.addWidget(self.view_mode, 0, 0, 1, 2)
        view_grid.addWidget(QLabel("split"), 1, 0)
        view_grid.addWidget(self.split_slider, 1, 1)
        view_grid.addWidget(QLabel("Face mode"), 2, 0)
        view_grid.addWidget(self.face_mode, 2, 1)
        left = QVBoxLayout()
        for widget in (source_box, self.model_choice, view_box, self.style_panel, self.attention, self.outputs):
            left.addWidget(widget)
        left.addWidget(self.message)
        left.addStretch(1)
        left_widget = QWidget()
        left_widget.setLayout(left)
        left_widget.setMaximumWidth(340)
        layout = QHBoxLayout(self)
        layout.addWidget(left_widget)
        layout.addWidget(self.view, 1)

        self.refresh_button.clicked.connect(self.find_cameras)
        self.video_button.clicked.connect(self._video_clicked)
        self.start_button.toggled.connect(lambda on: self.start() if on else self.stop())
        self.view_mode.currentIndexChanged.connect(lambda i: self.view.set_mode(self.view_mode.itemData(i)))
        link_split_slider(self.view, self.split_slider)
        self.face_mode.currentIndexChanged.connect(self._face_changed)
        self.style_panel.changed.connect(self._style_changed)
        self.attention.changed.connect(self._show_last_frame)
        self.snapshot_button.clicked.connect(lambda: self.snapshot())
        self.bridge.frame.connect(self._show_frame)
        self.bridge.error.connect(self._pipeline_failed)
        self.bridge.ended.connect(lambda: self.message.setText("the video ended"))
        session.translatorChanged.connect(self._translator_changed)
        self.model_choice.fast_box.toggled.connect(self._restart)
        session.directionChanged.connect(self._direction_changed)
        self._show_sources(None)
        self._enable()

    # sources ----------------------------------------------------------------------------------------
    def find_cameras(self) -> None:
        """Probe camera indices in the background (opening cameras can take a while)."""
        self.refresh_button.setEnabled(False)
        self.message.setText("looking for cameras...")

        def done(cameras) -> None:
            self.refresh_button.setEnabled(True)
            self._show_sources(cameras)
            self.message.setText(f"{len(cameras)} camera(s) found" if cameras else "no camera found")

        def failed(message: str) -> None:
            self.refresh_button.setEnabled(True)
            self.message.setText(f"camera probe failed: {message}")

        self.probe_runner.submit(self.enumerate_cameras, done, failed)

    def _show_sources(self, cameras: list[int] | None) -> None:
        """List ``cameras`` and the chosen video file. ``None`` (not looked for yet) offers the remembered
        camera; an empty list shows "No camera found", disabled, and the button becomes Refresh."""
        self.source_combo.clear()
        if cameras is None:
            cameras = [self.settings.camera()]
        else:
            self.refresh_button.setText("Refresh")
        for index in cameras:
            self.source_combo.addItem(camera_label(index), ("camera", index))
        if not cameras:
            self.source_combo.addItem(NO_CAMERA, None)
            self.source_combo.model().item(0).setEnabled(False)
        if self.video_path is not None:
            self.source_combo.addItem(f"Video: {self.video_path.name}", ("video", str(self.video_path)))
        index = self.source_combo.findData(("camera", self.settings.camera()))
        if index < 0:
            index = self.source_combo.count() - 1  # the video file if there is one, else the first entry
        self.source_combo.setCurrentIndex(index)

    def set_video(self, path: Path) -> None:
        """Add a video file as the source and select it."""
        self.video_path = Path(path)
        self.settings.set_folder("video", path)
        data = ("video", str(self.video_path))
        index = self.source_combo.findData(data)
        if index < 0:
            self.source_combo.addItem(f"Video: {self.video_path.name}", data)
            index = self.source_combo.count() - 1
        self.source_combo.setCurrentIndex(index)

    def _video_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Video file", self.settings.folder("video"), VIDEO_FILTER)
        if path:
            self.set_video(Path(path))

    def _open_source(self):
        if self.source_combo.currentData() is None:
            raise ValueError("no camera found; choose a video file, or Refresh to look for cameras again")
        kind, value = self.source_combo.currentData()
        if kind == "video":
            return VideoFileSource(value, loop=True), 30.0
        width, height = (int(v) for v in self.resolution.currentText().split("x"))
        self.settings.set_camera(value)
        self.settings.set_resolution(self.resolution.currentText())
        return CameraSource(value, width=width, height=height), None

    # life cycle -------------------------------------------------------------------------------------
    def start(self) -> bool:
        """Start the pipeline; it opens the source on its own thread, and a source that fails to open
        comes back as a message (the workspace stays usable)."""
        translator = self.model_choice.for_live(self.session.translator)
        if translator is None:
            self.message.setText("open a model first")
        if self.pipeline is not None or translator is None:
            self._sync_start_button()
            return self.pipeline is not None
        try:
            source, pace = self._open_source()
        except Exception as exc:  # a bad choice in the controls: a message, not a crash
            self._report(f"cannot open the source: {exc}")
            self._sync_start_button()
            return False
        self.pipeline = LivePipeline(
            source, translator, self.session.direction,
            style=self.style_panel.style() if translator.capabilities.styles else None,
            face=self.face_mode.currentData(), max_capture_fps=pace,
            on_frame=self._frame_arrived, on_error=self.bridge.error.emit, on_ended=self.bridge.ended.emit)
        self.pipeline.start()
        self.message.setText("warming up...")
        self.outputs.start_camera()  # a camera that cannot open says why; Live runs anyway
        self._sync_start_button()
        self._enable()
        return True

    def stop(self, wait_s: float = STOP_WAIT_S) -> None:
        """Stop the pipeline (its threads get ``wait_s`` to end, then end by themselves and close the
        source), finish any recording and close the virtual camera."""
        pipeline, self.pipeline = self.pipeline, None
        if pipeline is not None:
            pipeline.stop(wait_s)
            self.message.setText("stopped")
        self.outputs.stop_camera()
        self.stop_recording()
        self._sync_start_button()
        self._enable()

    def toggle_running(self) -> None:
        """Start if stopped, stop if running (the Start/Stop button and its shortcut)."""
        if self.pipeline is None:
            self.start()
        else:
            self.stop()

    def shutdown(self) -> None:
        """Stop for good (the window closes): an inference in flight gets time to finish before exit."""
        self.stop(SHUTDOWN_WAIT_S)
        self.probe_runner.wait()

    def running(self) -> bool:
        return self.pipeline is not None and self.pipeline.running

    def _sync_start_button(self) -> None:
        self.start_button.blockSignals(True)
        self.start_button.setChecked(self.pipeline is not None)
        self.start_button.setText("Stop" if self.pipeline is not None else "Start")
        self.start_button.blockSignals(False)

    def _enable(self) -> None:
        live = self.pipeline is not None
        for widget in (self.source_combo, self.refresh_button, self.video_button, self.resolution):
            widget.setEnabled(not live)
        self.record_button.setEnabled(live or self.record_button.isChecked())
        self.snapshot_button.setEnabled(self.last_frame is not None)

    # frames -----------------------------------------------------------------------------------------
    def _frame_arrived(self, frame: LiveFrame) -> None:
        """Inference thread: keep the newest frame, record it, and wake the UI unless a wake-up is pending."""
        self.last_frame = frame
        self.outputs.write(frame.output)
        if not self._frame_pending:
            self._frame_pending = True
            self.bridge.frame.emit()

    def _show_frame(self) -> None:
        self._frame_pending = False
        frame = self.last_frame
        if frame is None or self.pipeline is None:
            return
        began = time.perf_counter()
        self._show_last_frame()
        stats = frame.stats
        self.view.set_overlay(f"capture {stats.capture_fps:.1f} fps | output {stats.output_fps:.1f} fps | "
                              f"latency {stats.latency_ms:.0f} ms | dropped {stats.dropped}"
                              + "\n" + stats.stages.text() + skipped_text(stats.skipped, stats.last_error))
        # the display stage: this frame's hand-over to the view and the view's latest paint
        self.pipeline.report_display((time.perf_counter() - began) * 1000 + self.view.paint_ms)
        self.session.report_timing(stats.inference_ms)
        self.frames_shown += 1
        if self.message.text() == "warming up...":  # a message from the start (a camera problem) stays
            feed = self.outputs.vcam_feed
            self.message.setText("running" + (f", sending to {feed.camera.device}" if feed else ""))
        self._enable()

    def _show_last_frame(self) -> None:
        """Draw the newest frame, with its attention map over the output when that is switched on; the
        output as shown also goes to the virtual camera when it is on."""
        frame = self.last_frame
        if frame is not None:
            shown = self.attention.apply(frame.output, frame.heatmap)
            self.view.set_images(frame.source, shown)
            self.outputs.send_to_camera(shown)

    def _pipeline_failed(self, message: str) -> None:
        self.stop()
        self._report(message)

    def _report(self, message: str) -> None:
        self.message.setText(message)
        if self.isVisible():
            QMessageBox.warning(self, "Live", message)

    # controls ---------------------------------------------------------------------------------------
    def _translator_changed(self, translator) -> None:
        self.stop()  # closes the virtual camera too
        self.model_choice.model_changed(translator)
        self.attention.set_available(translator is not None and translator.capabilities.attention_map)

    def _restart(self) -> None:
        """Live switches model (fast or full) by stopping and starting again."""
        if self.pipeline is not None:
            self.stop()
            self.start()

    def _style_changed(self) -> None:
        if self.pipeline is not None and self.session.has_style():
            self.pipeline.set_style(self.style_panel.style())

    def _face_changed(self, index: int) -> None:
        if self.pipeline is not None:
            self.pipeline.set_face_mode(self.face_mode.itemData(index))

    def _direction_changed(self, direction: str) -> None:
        if self.pipeline is not None:
            self.pipeline.set_direction(direction)
            self._style_changed()  # style codes belong to the target domain

    @property
    def recorder(self) -> VideoRecorder | None:
        return self.outputs.recorder

    def snapshot(self, path: Path | None = None) -> Path | None:
        """Save the current output frame (default: a timestamped PNG in the last snapshot folder), and its
        attention map beside it (``<stem>.attention.png``) when it has one."""
        return None if self.last_frame is None else self.outputs.snapshot(self.last_frame, path)

    def start_recording(self, path: Path) -> bool:
        return self.outputs.start_recording(path)

    def stop_recording(self) -> Path | None:
        """Finish the MP4 (renamed into place); returns its path, or None if nothing was recorded."""
        return self.outputs.stop_recording()
