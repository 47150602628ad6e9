"""Model failures in the live pipeline: a glitch skips one frame, a model that keeps failing stops it."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from desktop.runtime.frames import EndOfStream
from desktop.runtime.live import FAILURE_LIMIT, FailureWindow, LivePipeline

from live_support import WAIT_S, Collector, open_munit, wait_until


@pytest.fixture(scope="module")
def munit(tiny_bundles):
    return open_munit(tiny_bundles)


class Lockstep:
    """``frames`` frames, each handed out only once the model has finished with the previous one (so none
    is dropped and every frame meets the model exactly once)."""

    size = (32, 24)

    def __init__(self, frames):
        self.left, self.turn, self.closed = frames, threading.Semaphore(0), False

    def open(self):
        pass

    def read(self):
        assert self.turn.acquire(timeout=WAIT_S)
        if self.left == 0:
            raise EndOfStream("no more")
        self.left -= 1
        return np.full((24, 32, 3), 90, np.uint8)

    def close(self):
        self.closed = True


class Flaky:
    """The real model, raising on the calls ``fails(call)`` picks (call 1 is the warm-up)."""

    def __init__(self, inner, source, fails):
        self.inner, self.source, self.fails, self.calls = inner, source, fails, 0

    def translate(self, *args, **kwargs):
        self.calls += 1
        try:
            if self.fails(self.calls):
                raise RuntimeError(f"glitch on call {self.calls}\nsecond line")
            return self.inner.translate(*args, **kwargs)
        finally:
            self.source.turn.release()

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_a_frame_the_model_fails_on_is_skipped_and_counted(munit):
    source, got = Lockstep(frames=12), Collector()
    model = Flaky(munit, source, fails=lambda call: call in (3, 8))
    pipe = LivePipeline(source, model, "a2b", on_frame=got.frame, on_error=got.error, on_ended=got.ended.set)
    pipe.start()
    assert got.ended.wait(WAIT_S) and wait_until(lambda: len(got.frames) == 10)
    pipe.stop()
    assert not got.errors and pipe.error is None  # two glitches do not stop the pipeline
    stats = pipe.stats
    assert (stats.captured, stats.produced, stats.skipped, stats.dropped) == (12, 10, 2, 0)
    assert stats.last_error == "glitch on call 8"
    assert got.frames[-1].stats.skipped == 2 and len(got.frames) == 10
    assert [f.index for f in got.frames] == [i for i in range(12) if i not in (1, 6)]


def test_a_model_that_always_fails_stops_the_pipeline_with_the_last_error(munit):
    source, got = Lockstep(frames=1000), Collector()
    model = Flaky(munit, source, fails=lambda call: call > 1)  # the warm-up works, every frame fails
    pipe = LivePipeline(source, model, "a2b", on_frame=got.frame, on_error=got.error)
    pipe.start()
    assert got.failed.wait(WAIT_S)
    source.turn.release()  # a read waiting for its turn returns, and the capture thread sees the stop
    assert wait_until(lambda: not pipe.running)
    pipe.stop()
    assert got.frames == [] and pipe.stats.skipped == FAILURE_LIMIT
    assert got.errors == [pipe.error] == [f"the model failed on {FAILURE_LIMIT} of the last {FAILURE_LIMIT} "
                                          f"frames: glitch on call {FAILURE_LIMIT + 1}"]
    assert source.closed and source.left > 1000 - FAILURE_LIMIT - 2  # stopped soon, not after 1000 frames


def test_failure_window_counts_only_recent_attempts():
    window = FailureWindow(window=5, limit=3)
    outcomes = [True, False, True, False, False, False, True, True, False, True]
    assert [window.record(o) for o in outcomes] == [False] * 9 + [True]
