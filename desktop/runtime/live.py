"""The live pipeline: a capture thread and an inference thread joined by a one-frame mailbox.

The capture thread always overwrites the unread frame, so when the model is slower than the camera the
stale frames are dropped (and counted) and latency stays at about one inference. The inference thread
warms the model up before the camera starts and hands every output to ``on_frame`` (called from the
inference thread; a GUI forwards it to its own thread). Nothing here knows about Qt.

A frame the model fails on is skipped and counted (``skipped`` and ``last_error`` in the stats); the
pipeline stops itself only when ``FAILURE_LIMIT`` of the last ``FAILURE_WINDOW`` frames it tried have
failed, so a model that always fails stops within a few frames while an occasional failure costs one frame.

The capture thread alone opens, reads and closes the source: releasing an OpenCV capture from another
thread while it is inside ``read()`` is not safe (with the FFmpeg backend it deadlocks in the scaler's
teardown). :meth:`LivePipeline.stop` therefore waits at most ``STOP_WAIT_S`` for the threads; a thread
still blocked in the source or the model then finishes on its own, delivers nothing, and the capture
thread closes the source as soon as its ``read()`` returns.

:attr:`LivePipeline.stats` also holds where a frame's time goes (capture, preprocess, model, postprocess,
and display as the UI reports it), averaged over the last second (``desktop/runtime/live_stats.py``).
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .attention import in_frame
from .face import Box, FaceDetector, translate_face
from .frames import EndOfStream
from .live_stats import LiveStats, SlidingWindow, StageMeters, split_call
from .mailbox import FrameSlot
from .providers import first_line
from .style import ExplicitStyle

STOP_WAIT_S = 0.5  # how long stop() waits for the threads; a thread stuck longer is left to end by itself
FAILURE_WINDOW = 20  # the model's failures are judged over this many of the latest frames it tried ...
FAILURE_LIMIT = 8  # ... and this many failures among them stop the pipeline


class FailureWindow:
    """Outcomes of the latest ``window`` attempts; :meth:`record` says when ``limit`` of them failed."""

    def __init__(self, window: int = FAILURE_WINDOW, limit: int = FAILURE_LIMIT) -> None:
        self._outcomes: deque[bool] = deque(maxlen=window)
        self._limit = limit

    def record(self, failed: bool) -> bool:
        """Add one outcome; True once the failures among the latest attempts reach the limit."""
        self._outcomes.append(failed)
        return self.failed >= self._limit

    @property
    def failed(self) -> int:
        return sum(self._outcomes)

    @property
    def tried(self) -> int:
        return len(self._outcomes)


@dataclass(frozen=True)
class LiveFrame:
    """One translated frame."""

    index: int  # capture index of the source frame
    source: np.ndarray
    output: np.ndarray
    crop: Box | None  # face mode: the square that was translated (around the face, or the centre)
    stats: LiveStats
    heatmap: np.ndarray | None = None  # the attention map ([0, 1], the output's size; 0 outside a face-mode crop)


@dataclass(frozen=True)
class _Captured:
    index: int
    image: np.ndarray
    at: float


class LivePipeline:
    """Translate frames from a frame source as they come.

    ``source`` is a :class:`~desktop.runtime.frames.FrameSource` (``open``, ``read``, ``close``, ``size``);
    the pipeline opens it on its capture thread and closes it when it stops. ``translator`` is an open
    translator (``translate``, ``style_code``, ``capabilities``).
    Callbacks: ``on_frame(LiveFrame)``, ``on_error(message)`` (the source could not be opened or failed,
    or the model failed: the pipeline has stopped itself and closed the source), ``on_ended()`` (a video
    file ended; the last frame can still be re-run until :meth:`stop`).
    ``max_capture_fps`` paces sources that would otherwise read as fast as they can (video files).
    """

    def __init__(
        self,
        source: Any,
        translator: Any,
        direction: str,
        *,
        style: Any = None,
        face: str | None = None,
        mode: str = "fit",
        max_capture_fps: float | None = None,
        on_frame: Callable[[LiveFrame], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_ended: Callable[[], None] | None = None,
    ) -> None:
        self._source = source
        self._translator = translator
        self._direction = direction
        self._mode = mode
        self._min_interval = 1.0 / max_capture_fps if max_capture_fps else 0.0
        self._on_frame = on_frame or (lambda frame: None)
        self._on_error = on_error or (lambda message: None)
        self._on_ended = on_ended or (lambda: None)
        self._slot = FrameSlot()
        self._stop = threading.Event()
        self._deliver = threading.RLock()  # held while a callback runs; stop() takes it to end deliveries
        self._failures = FailureWindow()
        self._settings_lock = threading.Lock()
        self._style_source: Any = None  # what the caller asked for
        self._style: Any = None  # the code it stands for in the current direction
        self._detector: FaceDetector | None = None
        self._face_mode = False
        self._threads: list[threading.Thread] = []
        self._last_captured: _Captured | None = None
        self._latest: LiveFrame | None = None
        self._capture_meter = SlidingWindow()
        self._output_meter = SlidingWindow()
        self._stages = StageMeters()
        self._captured = 0
        self._produced = 0
        self._latency_ms = 0.0
        self._inference_ms = 0.0
        self._skipped = 0
        self._last_error: str | None = None
        self.error: str | None = None
        self.set_style(style)
        self.set_face_mode(face)

    # ---- controls (any thread) ------------------------------------------------------------------
    def set_style(self, style: Any) -> None:
        """Use this style source from the next frame on. A random style is drawn once here, so the
        output does not flicker between frames; models without style ignore it. Raises ValueError for
        a style the model cannot make (e.g. a random draw for TUNIT), keeping the previous style."""
        self._apply(style, self._direction)

    def set_direction(self, direction: str) -> None:
        """Translate the other way from the next frame on (the style source is resolved again)."""
        self._apply(self._style_source, direction)

    def _apply(self, style: Any, direction: str) -> None:
        code = None
        if style is not None and self._translator.capabilities.styles:
            code = ExplicitStyle(np.asarray(self._translator.style_code(style, direction)))
        with self._settings_lock:
            self._style_source, self._style, self._direction = style, code, direction
        self.rerun_last()

    def set_face_mode(self, kind: str | None) -> None:
        """``None`` translates the whole frame; ``"human"`` / ``"cat"`` translate the detected face
        (``"centre"`` always the centre square)."""
        detector = FaceDetector(kind) if kind not in (None, "centre") else None
        with self._settings_lock:
            self._face_mode = kind is not None
            self._detector = detector
        self.rerun_last()

    def rerun_last(self) -> None:
        """Translate the last captured frame again (after a control changed), unless a newer one waits."""
        last = self._last_captured
        if last is not None and not self._stop.is_set():
            self._slot.offer(_Captured(last.index, last.image, time.perf_counter()))

    @property
    def stats(self) -> LiveStats:
        return LiveStats(
            capture_fps=self._capture_meter.rate,
            output_fps=self._output_meter.rate,
            latency_ms=self._latency_ms,
            inference_ms=self._inference_ms,
            captured=self._captured,
            produced=self._produced,
            dropped=self._slot.dropped,
            skipped=self._skipped,
            last_error=self._last_error,
            stages=self._stages.times(),
        )

    def report_display(self, milliseconds: float) -> None:
        """The UI's time to show one frame (any thread): the ``display`` stage of :attr:`stats`."""
        self._stages.add(time.perf_counter(), display=milliseconds)

    def latest(self) -> LiveFrame | None:
        """The most recent output (for consumers that poll instead of using ``on_frame``)."""
        return self._latest

    @property
    def translator(self) -> Any:
        """The translator the pipeline runs (the open model or its fast student)."""
        return self._translator

    @property
    def running(self) -> bool:
        """Whether a thread is still alive (after :meth:`stop`, one blocked in the source or model may be)."""
        return any(t.is_alive() for t in self._threads)

    # ---- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Warm up and start both threads; returns at once."""
        if self._threads:
            raise RuntimeError("a live pipeline can be started once; create a new one")
        self._threads = [
            threading.Thread(target=self._inference_loop, name="live-inference", daemon=True),
            threading.Thread(target=self._capture_loop, name="live-capture", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, wait_s: float = STOP_WAIT_S) -> None:
        """Stop both threads and wait up to ``wait_s`` for them; once this returns no callback runs any
        more. The capture thread closes the source when it ends. Safe to call more than once."""
        self._stop.set()
        self._slot.close()
        with self._deliver:  # a callback already running finishes first; later ones see the stop
            pass
        deadline = time.monotonic() + wait_s
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def _close_source(self) -> None:
        try:
            self._source.close()
        except Exception:  # closing a vanished camera may fail; nothing is left to release
            pass

    def _deliver_unless_stopped(self, callback: Callable[..., None], *args: Any) -> None:
        with self._deliver:
            if not self._stop.is_set():
                callback(*args)

    def _fail(self, message: str) -> None:
        with self._deliver:
            if self._stop.is_set():
                return
            self.error = message
            self._stop.set()
            self._slot.close()
            self._on_error(message)

    # ---- threads ------------------------------------------------------------------------------
    def _capture_loop(self) -> None:
        """Open, read, close: the source is touched by this thread only."""
        try:
            self._source.open()
            self._warm_up()
        except Exception as exc:
            self._fail(f"cannot start: {first_line(exc)}")
            self._close_source()
            return
        try:
            index = 0
            next_due = time.perf_counter()
            while not self._stop.is_set():
                reading = time.perf_counter()
                frame = self._source.read()
                if self._stop.is_set():
                    break  # stopped while the read was blocked: the frame is not wanted
                now = time.perf_counter()
                self._capture_meter.add(now)
                self._stages.add(now, capture=(now - reading) * 1000)
                self._captured += 1
                captured = _Captured(index, frame, now)
                self._last_captured = captured
                self._slot.put(captured)
                index += 1
                if self._min_interval:
                    next_due = max(next_due + self._min_interval, now)
                    self._stop.wait(max(0.0, next_due - time.perf_counter()))
        except EndOfStream:
            self._deliver_unless_stopped(self._on_ended)
        except Exception as exc:
            self._fail(f"the video source stopped: {first_line(exc)}")
        finally:
            self._close_source()  # the last captured frame stays available for re-runs

    def _inference_loop(self) -> None:
        while not self._stop.is_set():
            captured = self._slot.get(timeout=0.1)
            if captured is None or self._stop.is_set():
                continue
            started = time.perf_counter()
            try:
                output, heatmap, box = self._run_model(captured.image, timed=True)
            except Exception as exc:
                self._skipped += 1
                self._last_error = first_line(exc)
                if self._failures.record(True):
                    self._fail(f"the model failed on {self._failures.failed} of the last {self._failures.tried} "
                               f"frames: {self._last_error}")
                    return
                continue
            self._failures.record(False)
            self._deliver_unless_stopped(self._publish, captured, output, heatmap, box, started)

    def _publish(self, captured: _Captured, output: np.ndarray, heatmap: np.ndarray | None, box: Box | None,
                 started: float) -> None:
        """Count and hand out one output (only while running: what finishes after stop() is dropped)."""
        done = time.perf_counter()
        self._output_meter.add(done)
        self._produced += 1
        self._inference_ms = (done - started) * 1000
        self._latency_ms = (done - captured.at) * 1000
        self._latest = LiveFrame(captured.index, captured.image, output, box, self.stats, heatmap)
        self._on_frame(self._latest)

    def _warm_up(self) -> None:
        """One inference at the source's frame size before the first frame, so that frame is not slow."""
        width, height = self._source.size
        self._run_model(np.zeros((height, width, 3), np.uint8))

    def _run_model(self, image: np.ndarray, timed: bool = False) -> tuple[np.ndarray, np.ndarray | None, Box | None]:
        """(output, its attention map or None, the face-mode crop or None) for one frame; ``timed`` adds
        its preprocess / model / postprocess times to the stage meters (face mode's detection and crop
        count as preprocessing, its paste-back as postprocessing)."""
        started = time.perf_counter()
        with self._settings_lock:
            style, direction = self._style, self._direction
            face_mode, detector = self._face_mode, self._detector
        calls: list[tuple[float, float, Any]] = []  # (entered, left, result) of the translate call

        def translate(rgb: np.ndarray) -> np.ndarray:
            entered = time.perf_counter()
            result = self._translator.translate(rgb, direction, style=style, mode=self._mode)
            calls.append((entered, time.perf_counter(), result))
            return result.image

        if not face_mode:
            output, heatmap, box = translate(image), calls[0][2].heatmap, None
        else:
            face = translate_face(image, translate, detector)
            output, box, heatmap = face.image, face.crop_box, calls[0][2].heatmap
            if heatmap is not None:
                heatmap = in_frame(heatmap, box, *output.shape[:2])
        if timed:
            done = time.perf_counter()
            entered, left, result = calls[0]
            pre, model, post = split_call((left - entered) * 1000, result.timings)
            self._stages.add(done, preprocess=pre + (entered - started) * 1000, model=model,
                             postprocess=post + (done - left) * 1000)
        return output, heatmap, box

