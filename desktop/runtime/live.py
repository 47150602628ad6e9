"""The live pipeline: a capture thread and an inference thread joined by a one-frame mailbox.

The capture thread always overwrites the unread frame, so when the model is slower than the camera the
stale frames are dropped (and counted) and latency stays at about one inference. The inference thread
warms the model up before the camera starts and hands every output to ``on_frame`` (called from the
inference thread; a GUI forwards it to its own thread). Nothing here knows about Qt.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .face import Box, FaceDetector, translate_face
from .frames import EndOfStream
from .providers import first_line
from .style import ExplicitStyle

JOIN_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class LiveStats:
    """Rates measured over the last second or so."""

    capture_fps: float
    output_fps: float
    latency_ms: float  # from the frame's capture to its output being ready
    inference_ms: float
    captured: int
    produced: int
    dropped: int  # frames overwritten in the mailbox before inference could take them


@dataclass(frozen=True)
class LiveFrame:
    """One translated frame."""

    index: int  # capture index of the source frame
    source: np.ndarray
    output: np.ndarray
    crop: Box | None  # face mode: the square that was translated (around the face, or the centre)
    stats: LiveStats


class FrameSlot:
    """A one-item mailbox: ``put`` replaces an unread item (counting it as dropped); ``get`` waits."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Any = None
        self._closed = False
        self.dropped = 0

    def put(self, item: Any) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._cond.notify()

    def offer(self, item: Any) -> None:
        """Put ``item`` only if the slot is empty (a re-run never displaces a fresh frame)."""
        with self._cond:
            if self._item is None:
                self._item = item
                self._cond.notify()

    def get(self, timeout: float) -> Any:
        """The unread item, or None after ``timeout`` seconds or once closed."""
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class RateMeter:
    """Events per second over a sliding window of recent timestamps."""

    def __init__(self, window_s: float = 1.0) -> None:
        self._window = window_s
        self._times: list[float] = []

    def tick(self, now: float) -> None:
        self._times.append(now)
        cutoff = now - self._window
        while len(self._times) > 2 and self._times[0] < cutoff:
            self._times.pop(0)

    @property
    def rate(self) -> float:
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


@dataclass(frozen=True)
class _Captured:
    index: int
    image: np.ndarray
    at: float


class LivePipeline:
    """Translate frames from a frame source as they come.

    ``source`` is a :class:`~desktop.runtime.frames.FrameSource` (``open``, ``read``, ``close``, ``size``);
    the pipeline opens it on its capture thread and closes it when it stops. ``translator`` is an open
    translator (``translate``, ``style_code``, ``has_style``).
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
        self._settings_lock = threading.Lock()
        self._style_source: Any = None  # what the caller asked for
        self._style: Any = None  # the code it stands for in the current direction
        self._detector: FaceDetector | None = None
        self._face_mode = False
        self._threads: list[threading.Thread] = []
        self._last_captured: _Captured | None = None
        self._latest: LiveFrame | None = None
        self._capture_meter = RateMeter()
        self._output_meter = RateMeter()
        self._captured = 0
        self._produced = 0
        self._latency_ms = 0.0
        self._inference_ms = 0.0
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
        if style is not None and self._translator.has_style:
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
        )

    def latest(self) -> LiveFrame | None:
        """The most recent output (for consumers that poll instead of using ``on_frame``)."""
        return self._latest

    @property
    def running(self) -> bool:
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

    def stop(self) -> None:
        """Stop both threads, wait for them, close the source. Safe to call more than once."""
        self._stop.set()
        self._slot.close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(JOIN_TIMEOUT_S)
        self._close_source()

    def _close_source(self) -> None:
        try:
            self._source.close()
        except Exception:  # closing a vanished camera may fail; nothing is left to release
            pass

    def _fail(self, message: str) -> None:
        if self._stop.is_set():
            return
        self.error = message
        self._stop.set()
        self._slot.close()
        self._on_error(message)

    # ---- threads ------------------------------------------------------------------------------
    def _capture_loop(self) -> None:
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
                frame = self._source.read()
                now = time.perf_counter()
                self._capture_meter.tick(now)
                self._captured += 1
                captured = _Captured(index, frame, now)
                self._last_captured = captured
                self._slot.put(captured)
                index += 1
                if self._min_interval:
                    next_due = max(next_due + self._min_interval, now)
                    self._stop.wait(max(0.0, next_due - time.perf_counter()))
        except EndOfStream:
            self._on_ended()
        except Exception as exc:
            self._fail(f"the video source stopped: {first_line(exc)}")
        finally:
            if self._stop.is_set():
                self._close_source()

    def _inference_loop(self) -> None:
        while not self._stop.is_set():
            captured = self._slot.get(timeout=0.1)
            if captured is None or self._stop.is_set():
                continue
            try:
                frame = self._translate(captured)
            except Exception as exc:
                self._fail(f"the model failed on a frame: {first_line(exc)}")
                return
            self._latest = frame
            self._on_frame(frame)

    def _warm_up(self) -> None:
        """One inference at the source's frame size before the first frame, so that frame is not slow."""
        width, height = self._source.size
        self._run_model(np.zeros((height, width, 3), np.uint8))

    def _run_model(self, image: np.ndarray) -> tuple[np.ndarray, Box | None]:
        with self._settings_lock:
            style, direction = self._style, self._direction
            face_mode, detector = self._face_mode, self._detector

        def translate(rgb: np.ndarray) -> np.ndarray:
            return self._translator.translate(rgb, direction, style=style, mode=self._mode).image

        if face_mode:
            result = translate_face(image, translate, detector)
            return result.image, result.crop_box
        return translate(image), None

    def _translate(self, captured: _Captured) -> LiveFrame:
        started = time.perf_counter()
        output, box = self._run_model(captured.image)
        done = time.perf_counter()
        self._output_meter.tick(done)
        self._produced += 1
        self._inference_ms = (done - started) * 1000
        self._latency_ms = (done - captured.at) * 1000
        return LiveFrame(captured.index, captured.image, output, box, self.stats)

