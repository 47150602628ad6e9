"""What the live pipeline measures: rates and per-stage times over the last second, as plain data.

The stages are where a frame's time goes: ``capture`` (the source's read: for a camera this includes
waiting for its next frame), ``preprocess`` / ``model`` / ``postprocess`` (split from the translator's own
stage timings, plus face mode's detection and crop before the model and its paste-back after it) and
``display`` (the UI's work to show the frame, reported by the UI). Each is a moving average over the last
second, so the numbers are readable while they change.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, fields

WINDOW_S = 1.0  # rates and stage times are averaged over this many seconds
PRE_STAGES = ("preprocess",)  # translator timing keys that are preprocessing ...
POST_STAGES = ("postprocess",)  # ... and postprocessing; the rest of the call (content, decode, style) is the model
SHORT_NAMES = {"preprocess": "pre", "postprocess": "post"}  # for the overlay


class SlidingWindow:
    """Timestamped values over the last ``window_s`` seconds (the latest two always stay). Thread-safe:
    one thread adds while others read."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self._window = window_s
        self._samples: deque[tuple[float, float]] = deque()
        self._lock = threading.Lock()

    def add(self, now: float, value: float = 0.0) -> None:
        """Record ``value`` at time ``now`` (``time.perf_counter()`` seconds) and forget old samples."""
        with self._lock:
            self._samples.append((now, value))
            cutoff = now - self._window
            while len(self._samples) > 2 and self._samples[0][0] < cutoff:
                self._samples.popleft()

    @property
    def rate(self) -> float:
        """Samples per second (0 until there are two)."""
        with self._lock:
            if len(self._samples) < 2:
                return 0.0
            span = self._samples[-1][0] - self._samples[0][0]
            return (len(self._samples) - 1) / span if span > 0 else 0.0

    @property
    def mean(self) -> float:
        """The average value (0 before the first sample)."""
        with self._lock:
            return sum(v for _, v in self._samples) / len(self._samples) if self._samples else 0.0


@dataclass(frozen=True)
class StageTimes:
    """Milliseconds per frame in each stage, averaged over the last second (0: not measured yet)."""

    capture: float = 0.0
    preprocess: float = 0.0
    model: float = 0.0
    postprocess: float = 0.0
    display: float = 0.0

    def text(self) -> str:
        """One compact line: "capture 2 · pre 1 · model 35 · post 1 · display 3 ms" (a decimal below 10 ms)."""
        parts = [f"{SHORT_NAMES.get(f.name, f.name)} {_ms(getattr(self, f.name))}" for f in fields(self)]
        return " \u00b7 ".join(parts) + " ms"


STAGES = tuple(f.name for f in fields(StageTimes))


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


class StageMeters:
    """One :class:`SlidingWindow` per stage; any thread adds, :meth:`times` reads them all."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self._windows = {stage: SlidingWindow(window_s) for stage in STAGES}

    def add(self, now: float, **milliseconds: float) -> None:
        """Record the time of one frame in each named stage (``add(t, capture=2.0)``)."""
        for stage, ms in milliseconds.items():
            self._windows[stage].add(now, max(0.0, ms))

    def times(self) -> StageTimes:
        return StageTimes(**{stage: window.mean for stage, window in self._windows.items()})


def split_call(call_ms: float, timings: dict[str, float]) -> tuple[float, float, float]:
    """(preprocess, model, postprocess) milliseconds of one ``translate`` call that took ``call_ms``: the
    translator's own preprocess and postprocess timings, and the rest of the call as the model."""
    pre = sum(timings.get(key, 0.0) for key in PRE_STAGES)
    post = sum(timings.get(key, 0.0) for key in POST_STAGES)
    return pre, max(0.0, call_ms - pre - post), post


@dataclass(frozen=True)
class LiveStats:
    """Rates and stage times measured over the last second or so, and counts since the start."""

    capture_fps: float
    output_fps: float
    latency_ms: float  # from the frame's capture to its output being ready
    inference_ms: float
    captured: int
    produced: int
    dropped: int  # frames overwritten in the mailbox before inference could take them
    skipped: int = 0  # frames the model failed on (not shown; the pipeline went on)
    last_error: str | None = None  # the latest of those failures, one line
    stages: StageTimes = StageTimes()
